/**
 * `<rig>/witness/patrol.json`: what the Witness remembers between patrols, per worker and epoch —
 * the last progress fingerprint and when it changed, nudges sent, causes already escalated.
 * A new epoch (a new spawn of the same polecat) starts a fresh record: nothing about an old
 * worker carries over to the new one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, updateJsonFile, withFileLock, writeJsonAtomic } from '../../proto/index.js';
import { rigPaths } from '../town/index.js';

export const WorkerWatchSchema = z
  .object({
    epoch: z.number().int().nonnegative(),
    /** Git + state fingerprint (real progress) and the pane's, kept apart. */
    work_print: z.string(),
    pane_print: z.string(),
    last_progress_at: z.string(),
    nudges: z.number().int().nonnegative(),
    last_nudge_at: z.string().optional(),
    /** Causes escalated to the Mayor for this epoch: one escalation per worker per cause. */
    escalated: z.array(z.string()),
    /**
     * What the last look saw, so a patrol asks git and tmux only about what changed: the clone's
     * git fingerprint and the file stamp it was taken at; the window activity (unix seconds) the
     * pane text was captured at, and the blocking prompt that text showed.
     */
    git_print: z.string().optional(),
    clone_stamp: z.string().optional(),
    pane_activity: z.number().optional(),
    pane_prompt: z.string().optional(),
  })
  .strict();
export type WorkerWatch = z.infer<typeof WorkerWatchSchema>;

export const PatrolRecordSchema = z
  .object({
    version: z.literal(1),
    workers: z.record(z.string(), WorkerWatchSchema),
    /** Swarm-level causes escalated (`<swarm>:stuck`). */
    escalated: z.array(z.string()),
    /** Times the Witness woke a polecat for rework (refinery sent its work back), per epoch. */
    reworks: z
      .record(
        z.string(),
        z.object({ epoch: z.number().int().nonnegative(), count: z.number().int().nonnegative() }),
      )
      .optional(),
    last_patrol_at: z.string().optional(),
  })
  .strict();
export type PatrolRecord = z.infer<typeof PatrolRecordSchema>;

export function patrolRecordPath(townRoot: string, rig: string): string {
  return join(rigPaths(townRoot, rig).witnessHome, 'patrol.json');
}

const PATROL_HINT =
  'fix the named field by hand, or run `gt doctor --fix` to set the file aside (the witness starts a fresh record)';

const empty = (): PatrolRecord => ({ version: 1, workers: {}, escalated: [] });

export async function readPatrolRecord(townRoot: string, rig: string): Promise<PatrolRecord> {
  const file = patrolRecordPath(townRoot, rig);
  return existsSync(file) ? readJsonFile(file, PatrolRecordSchema, { hint: PATROL_HINT }) : empty();
}

/** Locked read-modify-write (the daemon loop and a `gt witness patrol --once` may overlap). */
export async function updatePatrolRecord(
  townRoot: string,
  rig: string,
  mutate: (r: PatrolRecord) => PatrolRecord | Promise<PatrolRecord>,
): Promise<PatrolRecord> {
  const file = patrolRecordPath(townRoot, rig);
  if (!existsSync(file))
    await withFileLock(file, async () => {
      if (!existsSync(file)) await writeJsonAtomic(file, empty());
    });
  return updateJsonFile(file, PatrolRecordSchema, mutate, { hint: PATROL_HINT });
}
