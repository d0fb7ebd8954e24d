/**
 * The seed's refinery hook points: "on PR ready" (an entry is queued) → review-oracle, and
 * "before merge processing" → merge-oracle with the pending changesets and their overlap groups.
 * A plugin exists when its directory does. Each entry records the hooks already run for its
 * submission, so each hook mails at most once per entry.
 */
import { changedFiles, type CloneRef } from './merge.js';
import { mailMergeOracle, mailReviewOracle, pluginHome } from './notify.js';
import { recordProgress, type QueueEntry } from './queue.js';

const REVIEW = 'review-oracle';
const MERGE = 'merge-oracle';

export function isPending(entry: QueueEntry): boolean {
  return entry.state === 'queued' || entry.state === 'merging' || entry.state === 'conflict';
}

async function filesOf(ref: CloneRef, entry: QueueEntry): Promise<string[]> {
  return changedFiles(ref, entry.head).catch(() => []);
}

export async function runHooks(
  townRoot: string,
  rig: string,
  ref: CloneRef,
  entries: QueueEntry[],
): Promise<void> {
  const review = pluginHome(townRoot, rig, REVIEW);
  const merge = pluginHome(townRoot, rig, MERGE);
  if (review === undefined && merge === undefined) return;
  const pending = entries.filter(isPending);
  const files = new Map<string, string[]>();
  for (const e of pending) files.set(e.id, await filesOf(ref, e));
  const marks = new Map<string, string[]>();
  const mark = (e: QueueEntry, hook: string) =>
    marks.set(e.id, [...(marks.get(e.id) ?? e.hooks), hook]);
  if (review !== undefined)
    for (const e of pending.filter((p) => p.state === 'queued' && !p.hooks.includes(REVIEW))) {
      await mailReviewOracle(townRoot, e, review, files.get(e.id) ?? []);
      mark(e, REVIEW);
    }
  const fresh = pending.filter((p) => !p.hooks.includes(MERGE));
  if (merge !== undefined && fresh[0] !== undefined) {
    const changesets = pending.map((entry) => ({ entry, files: files.get(entry.id) ?? [] }));
    await mailMergeOracle(townRoot, rig, merge, fresh[0], changesets);
    for (const e of fresh) mark(e, MERGE);
  }
  for (const e of pending) {
    const hooks = marks.get(e.id);
    if (hooks !== undefined) await recordProgress(townRoot, e, { hooks });
  }
}
