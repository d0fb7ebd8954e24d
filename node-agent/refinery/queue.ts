/**
 * The Refinery's MergeQueue on disk. `gt done` writes the submission
 * (`<rig>/refinery/queue/<issue>.json`, sessions/done.ts MergeRequest); the refinery keeps its own
 * progress next to it in `<issue>.state.json`, keyed by the submission's `submitted_at`: a new
 * `gt done` for the same issue has a new time, so the old state no longer applies and the entry is
 * queued afresh. Every state change is also appended to `<rig>/refinery/journal.jsonl`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GtError, appendFileWhole, pidAlive, writeJsonAtomic } from '../../proto/index.js';
import { openBeads } from '../beads/index.js';
import { mergeQueueDir, type MergeRequest } from '../sessions/index.js';
import { rigPaths } from '../town/index.js';

export type QueueEntryState = 'queued' | 'merging' | 'merged' | 'rejected' | 'conflict';

/** What the refinery records about one submission. */
export interface EntryProgress {
  version: 1;
  /** The submission this progress belongs to (MergeRequest.submitted_at). */
  submitted_at: string;
  state: QueueEntryState;
  attempts: number;
  last_error?: string;
  merged_commit?: string;
  conflict_files?: string[];
  /** The process merging it (state merging): a dead pid means the merge was interrupted. */
  pid?: number;
  /** Plugin hooks already run for this submission (one mail per entry per hook). */
  hooks?: string[];
  updated_at: string;
}

export interface QueueEntry {
  /** The issue id: one entry per issue, the latest `gt done` wins. */
  id: string;
  rig: string;
  polecat: string;
  address: string;
  branch: string;
  head: string;
  issue: string;
  epoch: number;
  priority: number;
  submitted_at: string;
  state: QueueEntryState;
  attempts: number;
  last_error: string;
  merged_commit: string;
  conflict_files: string[];
  pid: number;
  hooks: string[];
  updated_at: string;
}

export function journalPath(townRoot: string, rig: string): string {
  return join(rigPaths(townRoot, rig).refineryHome, 'journal.jsonl');
}

function progressPath(townRoot: string, rig: string, id: string): string {
  return join(mergeQueueDir(townRoot, rig), `${id}.state.json`);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined; // torn or hand-broken file: treated as absent, `gt doctor` reports it
  }
}

function priorities(townRoot: string, rig: string, ids: string[]): Map<string, number> {
  const found = new Map<string, number>();
  const beadsDir = rigPaths(townRoot, rig).beadsDir;
  if (ids.length === 0 || !existsSync(beadsDir)) return found;
  const store = openBeads(beadsDir);
  try {
    for (const id of ids) {
      const issue = store.getIssue(id);
      if (issue !== undefined && issue !== null) found.set(id, issue.priority);
    }
  } finally {
    store.close();
  }
  return found;
}

function toEntry(
  req: MergeRequest,
  progress: EntryProgress | undefined,
  priority: number,
): QueueEntry {
  const p =
    progress !== undefined && progress.submitted_at === req.submitted_at ? progress : undefined;
  return {
    id: req.issue,
    rig: req.rig,
    polecat: req.polecat,
    address: req.address,
    branch: req.branch,
    head: req.head,
    issue: req.issue,
    epoch: req.epoch,
    priority,
    submitted_at: req.submitted_at,
    state: p?.state ?? 'queued',
    attempts: p?.attempts ?? 0,
    last_error: p?.last_error ?? '',
    merged_commit: p?.merged_commit ?? '',
    conflict_files: p?.conflict_files ?? [],
    pid: p?.pid ?? 0,
    hooks: p?.hooks ?? [],
    updated_at: p?.updated_at ?? req.submitted_at,
  };
}

/** Priority (0 = most urgent) first, then submission time. */
export function queueOrder(a: QueueEntry, b: QueueEntry): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.submitted_at < b.submitted_at ? -1 : a.submitted_at > b.submitted_at ? 1 : 0;
}

/** Every entry of a rig's queue, in processing order. */
export function readQueue(townRoot: string, rig: string): QueueEntry[] {
  const dir = mergeQueueDir(townRoot, rig);
  if (!existsSync(dir)) return [];
  const requests: MergeRequest[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json') || name.endsWith('.state.json')) continue;
    const req = readJson<MergeRequest>(join(dir, name));
    if (req?.version === 1 && typeof req.issue === 'string') requests.push(req);
  }
  const prio = priorities(
    townRoot,
    rig,
    requests.map((r) => r.issue),
  );
  return requests
    .map((r) =>
      toEntry(
        r,
        readJson<EntryProgress>(progressPath(townRoot, rig, r.issue)),
        prio.get(r.issue) ?? 2,
      ),
    )
    .sort(queueOrder);
}

/** One entry's merge state without the queue's ordering ('' when nothing was submitted). */
export function entryState(townRoot: string, rig: string, id: string): QueueEntryState | '' {
  const req = readJson<MergeRequest>(join(mergeQueueDir(townRoot, rig), `${id}.json`));
  if (req?.version !== 1 || typeof req.issue !== 'string') return '';
  return toEntry(req, readJson<EntryProgress>(progressPath(townRoot, rig, id)), 2).state;
}

export function findEntry(townRoot: string, rig: string, id: string): QueueEntry {
  const entry = readQueue(townRoot, rig).find((e) => e.id === id);
  if (entry === undefined)
    throw new GtError('GT_NOT_FOUND', `no merge queue entry ${id} in rig ${rig}`, {
      hint: `list the queue with \`gt mq list ${rig}\``,
    });
  return entry;
}

/** An entry in `merging` whose process is gone: the refinery was killed mid-merge. */
export function isInterrupted(entry: QueueEntry): boolean {
  return entry.state === 'merging' && (entry.pid === 0 || !pidAlive(entry.pid));
}

export type ProgressChange = Partial<
  Pick<
    EntryProgress,
    'state' | 'attempts' | 'last_error' | 'merged_commit' | 'conflict_files' | 'pid' | 'hooks'
  >
>;

/** Durably record a change of an entry (state file, then a journal line). */
export async function recordProgress(
  townRoot: string,
  entry: QueueEntry,
  change: ProgressChange,
): Promise<QueueEntry> {
  const now = new Date().toISOString();
  const next: QueueEntry = { ...entry, ...change, updated_at: now };
  const progress: EntryProgress = {
    version: 1,
    submitted_at: entry.submitted_at,
    state: next.state,
    attempts: next.attempts,
    updated_at: now,
    ...(next.last_error === '' ? {} : { last_error: next.last_error }),
    ...(next.merged_commit === '' ? {} : { merged_commit: next.merged_commit }),
    ...(next.conflict_files.length === 0 ? {} : { conflict_files: next.conflict_files }),
    ...(next.state === 'merging' && next.pid !== 0 ? { pid: next.pid } : {}),
    ...(next.hooks.length === 0 ? {} : { hooks: next.hooks }),
  };
  mkdirSync(mergeQueueDir(townRoot, entry.rig), { recursive: true });
  await writeJsonAtomic(progressPath(townRoot, entry.rig, entry.id), progress);
  if (change.state !== undefined && change.state !== entry.state) {
    const line = {
      at: now,
      entry: entry.id,
      from: entry.state,
      to: change.state,
      pid: process.pid,
      head: entry.head,
    };
    await appendFileWhole(journalPath(townRoot, entry.rig), `${JSON.stringify(line)}\n`);
  }
  return next;
}
