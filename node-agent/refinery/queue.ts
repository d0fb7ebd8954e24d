/**
 * The Refinery's MergeQueue on disk. `gt done` writes the submission
 * (`<rig>/refinery/queue/<issue>.json`, sessions/done.ts MergeRequest); the refinery keeps its own
 * progress next to it in `<issue>.state.json`, keyed by the submission's `submitted_at`: a new
 * `gt done` for the same issue has a new time, so the old state no longer applies and the entry is
 * queued afresh. Every state change is also appended to `<rig>/refinery/journal.jsonl`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GtError,
  appendFileWhole,
  errorMessage,
  parseJsonText,
  pidAlive,
  writeJsonAtomic,
} from '../../proto/index.js';
import { openBeads } from '../beads/index.js';
import { mergeQueueDir } from '../sessions/index.js';
import {
  EntryProgressSchema,
  MergeRequestSchema,
  rigPaths,
  type EntryProgress,
  type MergeRequest,
} from '../town/index.js';

/**
 * `invalid`: the entry's submission or progress file cannot be read (torn, hand-edited); it is
 * listed as such with the file and field in `last_error`, never skipped, and never merged.
 */
export type QueueEntryState = EntryProgress['state'] | 'invalid';
export type { EntryProgress } from '../town/index.js';

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

/** A queue file read through its schema; `problem` names the file and field when it is bad. */
type Read<T> = { value: T } | { problem: string } | { missing: true };

function readQueueFile<T>(path: string, schema: import('zod').ZodType<T>): Read<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return { problem: `${path}: cannot be read (${errorMessage(err)})` };
  }
  try {
    return { value: parseJsonText(path, text, schema) };
  } catch (err) {
    return { problem: errorMessage(err) };
  }
}

function progressPathOf(requestPath: string): string {
  return `${requestPath.slice(0, -'.json'.length)}.state.json`;
}

/** A submission, or why its files cannot be read. */
type Submission =
  | { id: string; request: MergeRequest; progress: EntryProgress | undefined }
  | { id: string; request?: MergeRequest; problem: string };

function readSubmission(dir: string, id: string): Submission | undefined {
  const file = join(dir, `${id}.json`);
  const req = readQueueFile(file, MergeRequestSchema);
  if ('missing' in req) return undefined;
  if ('problem' in req) return { id, problem: req.problem };
  const request = req.value;
  if (request.issue !== id)
    return {
      id,
      problem: `${file}: issue: is "${request.issue}" but the file is named for ${id}`,
    };
  const progress = readQueueFile(progressPathOf(file), EntryProgressSchema);
  if ('problem' in progress) return { id, request, problem: progress.problem };
  return { id, request, progress: 'value' in progress ? progress.value : undefined };
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

/** The entry of a submission whose files are bad: state `invalid`, the problem as its error. */
function invalidEntry(rig: string, sub: Submission & { problem: string }, priority: number) {
  const base: QueueEntry =
    sub.request === undefined
      ? {
          id: sub.id,
          rig,
          polecat: '',
          address: '',
          branch: '',
          head: '',
          issue: sub.id,
          epoch: 0,
          priority,
          submitted_at: '',
          state: 'invalid',
          attempts: 0,
          last_error: '',
          merged_commit: '',
          conflict_files: [],
          pid: 0,
          hooks: [],
          updated_at: '',
        }
      : toEntry(sub.request, undefined, priority);
  return { ...base, id: sub.id, state: 'invalid' as const, last_error: sub.problem };
}

function entryOf(rig: string, sub: Submission, priority: number): QueueEntry {
  return 'problem' in sub
    ? invalidEntry(rig, sub, priority)
    : toEntry(sub.request, sub.progress, priority);
}

/** Priority (0 = most urgent) first, then submission time. */
export function queueOrder(a: QueueEntry, b: QueueEntry): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.submitted_at < b.submitted_at ? -1 : a.submitted_at > b.submitted_at ? 1 : 0;
}

/** The ids of a rig's submissions: `<id>.json` files (not progress, temp or lock files). */
function submissionIds(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json') && !n.endsWith('.state.json') && !n.startsWith('.'))
    .map((n) => n.slice(0, -'.json'.length));
}

/**
 * Every entry of a rig's queue, in processing order. A submission whose file (or progress file)
 * is bad is an `invalid` entry naming the file and field: shown, reported, never merged.
 */
export function readQueue(townRoot: string, rig: string): QueueEntry[] {
  const dir = mergeQueueDir(townRoot, rig);
  const subs = submissionIds(dir)
    .map((id) => readSubmission(dir, id))
    .filter((s) => s !== undefined);
  const prio = priorities(
    townRoot,
    rig,
    subs.map((s) => s.id),
  );
  return subs.map((s) => entryOf(rig, s, prio.get(s.id) ?? 2)).sort(queueOrder);
}

/** The bad entries of a rig's queue (for `gt doctor`), without opening the issue store. */
export function invalidEntries(townRoot: string, rig: string): QueueEntry[] {
  const dir = mergeQueueDir(townRoot, rig);
  return submissionIds(dir)
    .map((id) => readSubmission(dir, id))
    .filter((s) => s !== undefined && 'problem' in s)
    .map((s) => entryOf(rig, s as Submission, 2));
}

/** One entry's merge state without the queue's ordering ('' when nothing was submitted). */
export function entryState(townRoot: string, rig: string, id: string): QueueEntryState | '' {
  const sub = readSubmission(mergeQueueDir(townRoot, rig), id);
  return sub === undefined ? '' : entryOf(rig, sub, 2).state;
}

export function findEntry(townRoot: string, rig: string, id: string): QueueEntry {
  const entry = readQueue(townRoot, rig).find((e) => e.id === id);
  if (entry === undefined)
    throw new GtError('GT_NOT_FOUND', `no merge queue entry ${id} in rig ${rig}`, {
      hint: `list the queue with \`gt mq list ${rig}\``,
    });
  return entry;
}

/** What to do about an `invalid` entry: fix its file by hand, or have the polecat submit again. */
export function invalidEntryHint(entry: QueueEntry): string {
  const resubmit =
    entry.address === ''
      ? `the polecat that holds ${entry.issue} (\`gt polecats\` shows it) submits it again with \`gt done --as <rig>/<polecat>\``
      : `\`gt done --as ${entry.address}\` submits it again`;
  return `fix the named field by hand, or remove the file and ${resubmit}; until then the refinery does not merge it`;
}

export function invalidEntryError(entry: QueueEntry): GtError {
  return new GtError(
    'GT_CONFIG_INVALID',
    `merge queue entry ${entry.rig}/${entry.id} is invalid: ${entry.last_error}`,
    { hint: invalidEntryHint(entry) },
  );
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
  if (entry.state === 'invalid') throw invalidEntryError(entry);
  const now = new Date().toISOString();
  const next: QueueEntry = { ...entry, ...change, updated_at: now };
  const state = next.state === 'invalid' ? 'queued' : next.state; // (a change never sets it)
  const progress: EntryProgress = {
    version: 1,
    submitted_at: entry.submitted_at,
    state,
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
