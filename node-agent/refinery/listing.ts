/** `gt mq list` / `gt mq status` / `gt mq retry`: the queue as users see it, with overlap groups. */
import { existsSync } from 'node:fs';
import { GtError, readJsonFile } from '../../proto/index.js';
import { RigConfigSchema, rigPaths } from '../town/index.js';
import { isPending } from './hooks.js';
import { changedFiles, fetchOrigin, type CloneRef } from './merge.js';
import { overlapGroups, type OverlapGroup } from './overlap.js';
import { findEntry, isInterrupted, readQueue, recordProgress, type QueueEntry } from './queue.js';

export interface ListedEntry extends QueueEntry {
  /** Files the entry changes relative to main (pending entries only). */
  files: string[];
  /** Overlap group of a pending entry (0 for merged/rejected ones). */
  group: number;
  interrupted: boolean;
}

export interface QueueListing {
  rig: string;
  entries: ListedEntry[];
  /** Overlap groups of the pending entries: disjoint groups could be tested in parallel. */
  groups: OverlapGroup[];
}

async function cloneRef(townRoot: string, rig: string): Promise<CloneRef | undefined> {
  const paths = rigPaths(townRoot, rig);
  if (!existsSync(paths.refineryClone)) return undefined;
  const config = await readJsonFile(paths.configJson, RigConfigSchema);
  return { clone: paths.refineryClone, main: config.default_branch ?? 'main' };
}

async function filesOf(
  ref: CloneRef | undefined,
  entries: QueueEntry[],
): Promise<Map<string, string[]>> {
  const files = new Map<string, string[]>();
  if (ref === undefined) return files;
  let fetched = false;
  for (const e of entries) {
    try {
      files.set(e.id, await changedFiles(ref, e.head));
    } catch {
      // The head may not be fetched into the refinery's clone yet: fetch once, then try again.
      if (!fetched) {
        fetched = true;
        await fetchOrigin(ref).catch(() => undefined);
      }
      files.set(e.id, await changedFiles(ref, e.head).catch(() => []));
    }
  }
  return files;
}

export async function listQueue(townRoot: string, rig: string): Promise<QueueListing> {
  if (!existsSync(rigPaths(townRoot, rig).root))
    throw new GtError('GT_RIG_NOT_FOUND', `no rig ${rig} in this town`, {
      hint: 'list rigs with `gt rigs`',
    });
  const entries = readQueue(townRoot, rig);
  const pending = entries.filter(isPending);
  const files = await filesOf(await cloneRef(townRoot, rig), pending);
  const groups = overlapGroups(pending.map((e) => ({ id: e.id, files: files.get(e.id) ?? [] })));
  const groupOf = new Map(groups.flatMap((g) => g.entries.map((id) => [id, g.group] as const)));
  return {
    rig,
    groups,
    entries: entries.map((e) => ({
      ...e,
      files: files.get(e.id) ?? [],
      group: groupOf.get(e.id) ?? 0,
      interrupted: isInterrupted(e),
    })),
  };
}

/** Put a conflicted, rejected or interrupted entry back in the queue. */
export async function retryEntry(townRoot: string, rig: string, id: string): Promise<QueueEntry> {
  const entry = findEntry(townRoot, rig, id);
  if (entry.state === 'merged')
    throw new GtError(
      'GT_CONFLICT',
      `${id} is already merged (${entry.merged_commit.slice(0, 12)})`,
    );
  if (entry.state === 'merging' && !isInterrupted(entry))
    throw new GtError(
      'GT_CONFLICT',
      `${id} is being merged right now (refinery pid ${entry.pid})`,
      {
        hint: 'wait for it to finish; `gt mq status` shows the outcome',
      },
    );
  return recordProgress(townRoot, entry, { state: 'queued', pid: 0, conflict_files: [] });
}
