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
import type { LoopLedger } from './loop-ledger.js';

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

/** One pass over `rig`'s merge queue on this machine (its home). */
export function processQueue(townRoot: string, rig: string, once: boolean, signal: AbortSignal) {
  return processRig({
    townRoot,
    rig,
    once,
    signal,
    // The merge that settles a swarm's last issue records the swarm complete right then.
    onMerged: async (e) => void (await settleSwarmsOf(townRoot, e.rig, e.issue)),
  });
}

export function refineryRpcs(townRoot: string, ledger: LoopLedger): RefineryRpcs {
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
      if (req.loop && ledger.own) {
        // This machine's own Refinery loop serves the queue: a second loop would race it.
        ledger.declined(req.rig, 'refinery');
        return { rig: req.rig, processed: [], ownLoop: true };
      }
      ledger.asked(req.rig, 'refinery');
      // A pass by hand waits for the own loop's pass in flight, then runs (no GT_CONFLICT).
      const processed = await ledger.exclusive(req.rig, 'refinery', () =>
        processQueue(townRoot, req.rig, req.once, ctx.signal),
      );
      return { rig: req.rig, processed };
    },
  };
}
