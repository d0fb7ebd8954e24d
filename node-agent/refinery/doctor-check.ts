/**
 * Swarm doctor check: a merge queue entry stuck in `merging` whose refinery process is gone (the
 * refinery was killed mid-merge and nothing resumed it). origin's main is intact by construction
 * (only a tested merge is ever pushed); `--fix` restores the refinery's clone to origin's main and
 * re-queues the entry, so the next `gt refinery process` merges it from scratch.
 */
import { readJsonFile } from '../../proto/index.js';
import {
  RigConfigSchema,
  listRigs,
  rigPaths,
  type DoctorCheck,
  type DoctorProblem,
} from '../town/index.js';
import { restoreClone } from './merge.js';
import {
  invalidEntries,
  invalidEntryHint,
  isInterrupted,
  readQueue,
  recordProgress,
} from './queue.js';

export const STUCK_MERGE_CHECK: DoctorCheck = {
  id: 'merge-stuck',
  scope: 'swarm',
  title: 'no merge queue entry is stuck in merging',
  async run(ctx) {
    const problems: DoctorProblem[] = [];
    for (const rig of (await listRigs(ctx.townRoot)).filter((r) => r.present)) {
      for (const entry of readQueue(ctx.townRoot, rig.name).filter(isInterrupted)) {
        problems.push({
          status: 'error',
          message: `merge stuck: ${rig.name} entry ${entry.id} (${entry.branch}) is "merging" but its refinery (pid ${entry.pid}) is gone`,
          hint: '`gt doctor --fix` restores the refinery clone to origin main and re-queues the entry',
          repair: async () => {
            const paths = rigPaths(ctx.townRoot, rig.name);
            const config = await readJsonFile(paths.configJson, RigConfigSchema);
            await restoreClone({
              clone: paths.refineryClone,
              main: config.default_branch ?? 'main',
            });
            await recordProgress(ctx.townRoot, entry, { state: 'queued', pid: 0 });
            return `restored ${rig.name}'s refinery clone to origin/${config.default_branch ?? 'main'} and re-queued ${entry.id}`;
          },
        });
      }
    }
    return problems;
  },
};

/**
 * Rig doctor check: every merge-queue file (`<rig>/refinery/queue/<id>.json` and its
 * `<id>.state.json`) reads through its schema. A bad one is an `invalid` entry the refinery never
 * merges; this names the file and field. Not fixable: only the polecat's `gt done` (or a hand
 * edit) can say what the submission was.
 */
export const MERGE_QUEUE_FILES_CHECK: DoctorCheck = {
  id: 'merge-queue-files',
  scope: 'rig',
  homeOnly: true,
  title: 'every merge queue file is readable',
  run({ townRoot, rig }) {
    if (rig === undefined) return Promise.resolve([]);
    return Promise.resolve(
      invalidEntries(townRoot, rig).map((entry): DoctorProblem => ({
        status: 'error',
        message: `merge queue entry ${entry.id} is invalid (the refinery will not merge it): ${entry.last_error}`,
        hint: invalidEntryHint(entry),
      })),
    );
  },
};
