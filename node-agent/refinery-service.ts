/** The NodeAgent's Refinery RPCs (merge queue list/status/retry/process), spread into service.ts. */
import type { ImplOf, MergeQueueEntrySchema, MessageInitShape, NodeAgent } from '../proto/index.js';
import {
  findEntry,
  isInterrupted,
  listQueue,
  processRig,
  retryEntry,
  type QueueEntry,
} from './refinery/index.js';
import { settleSwarmsOf } from './swarms/index.js';

type Impl = ImplOf<typeof NodeAgent>;
export type RefineryRpcs = Pick<
  Impl,
  'listMergeQueue' | 'getMergeQueueEntry' | 'retryMergeQueueEntry' | 'processMergeQueue'
>;

export function entryInfo(
  e: QueueEntry & { files?: string[]; group?: number },
): MessageInitShape<typeof MergeQueueEntrySchema> {
  return {
    id: e.id,
    rig: e.rig,
    polecat: e.polecat,
    address: e.address,
    branch: e.branch,
    head: e.head,
    issue: e.issue,
    epoch: BigInt(e.epoch),
    priority: e.priority,
    submittedAt: e.submitted_at,
    state: e.state,
    attempts: e.attempts,
    lastError: e.last_error,
    mergedCommit: e.merged_commit,
    conflictFiles: e.conflict_files,
    files: e.files ?? [],
    group: e.group ?? 0,
    interrupted: isInterrupted(e),
    updatedAt: e.updated_at,
    pid: e.pid,
  };
}

export function refineryRpcs(townRoot: string): RefineryRpcs {
  return {
    async listMergeQueue(req) {
      const listing = await listQueue(townRoot, req.rig);
      return { rig: listing.rig, entries: listing.entries.map(entryInfo), groups: listing.groups };
    },
    async getMergeQueueEntry(req) {
      return entryInfo(findEntry(townRoot, req.rig, req.id));
    },
    async retryMergeQueueEntry(req) {
      return entryInfo(await retryEntry(townRoot, req.rig, req.id));
    },
    async processMergeQueue(req, ctx) {
      const processed = await processRig({
        townRoot,
        rig: req.rig,
        once: req.once,
        signal: ctx.signal,
        // The merge that settles a swarm's last issue records the swarm complete right then.
        onMerged: async (e) => void (await settleSwarmsOf(townRoot, e.rig, e.issue)),
      });
      return { rig: req.rig, processed };
    },
  };
}
