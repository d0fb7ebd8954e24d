/**
 * The Mayor's written-down dispatch decision: `<town>/mayor/swarms/<id>.json`, one file per swarm
 * (the rig, which issues, which polecat and epoch took each, and the swarm's state). Status is
 * never stored here: it is read fresh from the polecats, beads and the refinery queue.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { GtError, readJsonFile, updateJsonFile, writeJsonAtomic } from '../../proto/index.js';
import { townPaths } from '../town/index.js';

export const SwarmIssueSchema = z
  .object({
    issue: z.string().min(1),
    polecat: z.string().optional(),
    address: z.string().optional(),
    epoch: z.number().int().nonnegative().optional(),
    branch: z.string().optional(),
    session: z.string().optional(),
    /** The machine running the worker when it is not the rig's home (placed by the coordinator). */
    machine: z.string().optional(),
    /** Why it was not dispatched (spawn failed). */
    error: z.string().optional(),
  })
  .strict();
export type SwarmIssue = z.infer<typeof SwarmIssueSchema>;

export const SwarmRecordSchema = z
  .object({
    version: z.literal(1),
    id: z.string().min(1),
    rig: z.string().min(1),
    agent: z.string().optional(),
    state: z.enum(['active', 'complete', 'cancelled']),
    created_at: z.string(),
    finished_at: z.string().optional(),
    issues: z.array(SwarmIssueSchema),
  })
  .strict();
export type SwarmRecord = z.infer<typeof SwarmRecordSchema>;

export function swarmsDir(townRoot: string): string {
  return join(townPaths(townRoot).mayorHome, 'swarms');
}

/** `<town>/mayor/swarms/<id>.json` (its lock, `<id>.json.lock`, guards every change to it). */
export const swarmFile = (townRoot: string, id: string): string =>
  join(swarmsDir(townRoot), `${id}.json`);
const fileOf = swarmFile;

/** `sw-<yyyymmdd-hhmmss>-<rig>`, with a counter when two start in the same second. */
export function newSwarmId(townRoot: string, rig: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const base = `sw-${stamp}-${rig}`;
  let id = base;
  for (let n = 2; existsSync(fileOf(townRoot, id)); n++) id = `${base}-${n}`;
  return id;
}

export async function writeSwarm(townRoot: string, record: SwarmRecord): Promise<void> {
  mkdirSync(swarmsDir(townRoot), { recursive: true });
  await writeJsonAtomic(fileOf(townRoot, record.id), record);
}

export async function readSwarm(townRoot: string, id: string): Promise<SwarmRecord> {
  const file = fileOf(townRoot, id);
  if (!existsSync(file))
    throw new GtError('GT_NOT_FOUND', `no swarm "${id}"`, {
      hint: 'list swarms with `gt swarm list`',
    });
  return readJsonFile(file, SwarmRecordSchema);
}

export function updateSwarm(
  townRoot: string,
  id: string,
  mutate: (r: SwarmRecord) => SwarmRecord,
): Promise<SwarmRecord> {
  return updateJsonFile(fileOf(townRoot, id), SwarmRecordSchema, mutate);
}

/** Every swarm, oldest first (optionally of one rig). */
export async function listSwarms(townRoot: string, rig?: string): Promise<SwarmRecord[]> {
  const dir = swarmsDir(townRoot);
  if (!existsSync(dir)) return [];
  const ids = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5));
  const records = await Promise.all(ids.map((id) => readSwarm(townRoot, id)));
  return records
    .filter((r) => rig === undefined || rig === '' || r.rig === rig)
    .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}
