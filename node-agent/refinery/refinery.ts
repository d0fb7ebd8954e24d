/**
 * The Refinery's mechanical duty (DESIGN.md §5): take the next MergeQueue entry of a rig, merge it
 * onto the latest main in the authoritative clone, run the rig's test gate, and only if it passes
 * push main to origin and close the issue. One refinery per rig at a time (a file lock; a killed
 * holder's lock is broken by pid). Crash safety: the entry is marked `merging` (with this pid)
 * before any git step; a later run finds it `merging` with a dead pid, restores the clone to
 * origin's main, and either records the merge (its head is already on origin's main: the push
 * happened) or merges it again from scratch. origin's main only ever moves by a fast-forward push
 * of a tested merge commit, so it is never broken or half-merged.
 */
import { applyGitIdentity } from '../git-identity.js';
import { join } from 'node:path';
import { GtError, readJsonFile, withFileLock } from '../../proto/index.js';
import { runGit } from '../git.js';
import { RigConfigSchema, rigPaths, type RigConfig } from '../town/index.js';
import { closeMergedIssue, giveIssueBack } from './beads-steps.js';
import {
  changedFiles,
  fetchOrigin,
  hasCommit,
  mergeOnto,
  mergeSeries,
  onOriginMain,
  pushMain,
  requireClone,
  restoreClone,
  type CloneRef,
} from './merge.js';
import { DEFAULT_TEST_TIMEOUT_MS, runTestGate } from './gate.js';
import { mailConflict, mailMerged, mailMissingHead, mailRejected } from './notify.js';
import { runHooks } from './hooks.js';
import {
  invalidEntryHint,
  isInterrupted,
  readQueue,
  recordProgress,
  type QueueEntry,
  type QueueEntryState,
} from './queue.js';

export interface ProcessOptions {
  townRoot: string;
  rig: string;
  /** Process at most one entry. */
  once?: boolean;
  signal?: AbortSignal;
  /** Push races retried this many times per entry before it is left queued. Default 3. */
  maxPushAttempts?: number;
  /** How long to wait for another refinery of the rig. Default 2 s. */
  lockTimeoutMs?: number;
  /**
   * Called right after an entry is recorded merged and its issue closed (the node agent records
   * the completion of a swarm whose last issue this was). Its failure does not undo the merge.
   */
  onMerged?: (entry: QueueEntry) => Promise<void>;
}

export interface ProcessedEntry {
  id: string;
  state: QueueEntryState;
  commit: string;
  detail: string;
  /** This run resumed an entry a killed refinery left in `merging`. */
  resumed: boolean;
}

interface RigContext {
  townRoot: string;
  rig: string;
  ref: CloneRef;
  testCommand: string | undefined;
  testTimeoutMs: number;
  maxPushAttempts: number;
  /** Disjoint entries merged and tested together (rig config `merge_batch`, default 1). */
  batch: number;
  onMerged: ((entry: QueueEntry) => Promise<void>) | undefined;
}

async function rigContext(options: ProcessOptions): Promise<RigContext> {
  const paths = rigPaths(options.townRoot, options.rig);
  const config: RigConfig = await readJsonFile(paths.configJson, RigConfigSchema);
  requireClone(paths.refineryClone, options.rig);
  return {
    townRoot: options.townRoot,
    rig: options.rig,
    ref: {
      clone: paths.refineryClone,
      main: config.default_branch ?? 'main',
      signal: options.signal,
    },
    testCommand: config.test_command,
    testTimeoutMs: config.test_timeout_ms ?? DEFAULT_TEST_TIMEOUT_MS,
    maxPushAttempts: options.maxPushAttempts ?? 3,
    batch: config.merge_batch ?? 1,
    onMerged: options.onMerged,
  };
}

/** Work through a rig's queue (or one entry with `once`); returns what happened to each. */
export async function processRig(options: ProcessOptions): Promise<ProcessedEntry[]> {
  const ctx = await rigContext(options);
  const queue = readQueue(options.townRoot, options.rig);
  // A bad entry is never merged and never skipped silently: every run reports it first.
  const invalid: ProcessedEntry[] = queue
    .filter((e) => e.state === 'invalid')
    .map((e) => ({
      id: e.id,
      state: 'invalid',
      commit: '',
      detail: `not merged: ${e.last_error}; ${invalidEntryHint(e)}`,
      resumed: false,
    }));
  // Nothing to do (the daemon's loop asks every few seconds): no lock, no fetch.
  if (next(queue) === undefined) return invalid;
  const lock = join(rigPaths(options.townRoot, options.rig).refineryHome, 'refinery');
  try {
    const done = await withFileLock(lock, () => processLocked(ctx, options.once === true), {
      timeoutMs: options.lockTimeoutMs ?? 2_000,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return [...invalid, ...done];
  } catch (err) {
    if (!(err instanceof GtError) || err.code !== 'GT_LOCK_TIMEOUT') throw err;
    throw new GtError(
      'GT_CONFLICT',
      `the refinery of rig ${options.rig} is busy: another process is merging`,
      {
        hint: `\`gt mq list ${options.rig}\` shows what is being merged; try again when it is done`,
        cause: err,
      },
    );
  }
}

function next(entries: QueueEntry[]): QueueEntry | undefined {
  return entries.find(isInterrupted) ?? entries.find((e) => e.state === 'queued');
}

async function processLocked(ctx: RigContext, once: boolean): Promise<ProcessedEntry[]> {
  const done: ProcessedEntry[] = [];
  // A clone made before the town's git identity was set (or removed) follows it from now on.
  await applyGitIdentity(ctx.ref.clone, ctx.townRoot, { signal: ctx.ref.signal });
  await fetchOrigin(ctx.ref);
  await runHooks(ctx.townRoot, ctx.rig, ctx.ref, readQueue(ctx.townRoot, ctx.rig));
  // After a batch that did not pass, the rest of this run goes one entry at a time, so the entry
  // that broke it is found (and rejected) on its own and the others still merge.
  let batching = ctx.batch > 1 && !once;
  for (;;) {
    ctx.ref.signal?.throwIfAborted();
    const pending = readQueue(ctx.townRoot, ctx.rig).filter(
      (e) => !done.some((d) => d.id === e.id),
    );
    const entry = next(pending);
    if (entry === undefined) break;
    if (batching && entry.state === 'queued') {
      const batch = await pickBatch(ctx, pending);
      if (batch.length > 1) {
        const merged = await processBatch(ctx, batch);
        if (merged !== undefined) {
          done.push(...merged);
          continue;
        }
        batching = false;
      }
    }
    const result = await processEntry(ctx, entry);
    done.push(result);
    if (once || result.state === 'queued') break;
  }
  return done;
}

/**
 * Up to `ctx.batch` queued entries, in queue order, whose changed files are pairwise disjoint
 * (each from a different overlap group): the seed's merge-oracle "parallel groups".
 */
async function pickBatch(ctx: RigContext, pending: QueueEntry[]): Promise<QueueEntry[]> {
  const taken: QueueEntry[] = [];
  const touched = new Set<string>();
  for (const e of pending) {
    if (taken.length >= ctx.batch) break;
    if (e.state !== 'queued' || !(await hasCommit(ctx.ref, e.head))) continue;
    const files = await changedFiles(ctx.ref, e.head).catch(() => []);
    if (files.length === 0 || files.some((f) => touched.has(f))) continue;
    for (const f of files) touched.add(f);
    taken.push(e);
  }
  return taken;
}

const mergeMessage = (e: QueueEntry): string =>
  `Merge ${e.branch} (${e.issue}) from ${e.address}\n\nRefinery: ${e.id} epoch ${e.epoch}`;

/**
 * Merge a batch onto main one after another, run the gate once, push once. Any conflict, a
 * failing gate or push races exhausted → every entry back to `queued` and undefined (the caller
 * goes one at a time). Crash safety is the single entry's: all are `merging` under this pid, and
 * the one push either landed every merge commit or none.
 */
async function processBatch(
  ctx: RigContext,
  batch: QueueEntry[],
): Promise<ProcessedEntry[] | undefined> {
  let entries = await Promise.all(
    batch.map((e) =>
      recordProgress(ctx.townRoot, e, {
        state: 'merging',
        pid: process.pid,
        attempts: e.attempts + 1,
      }),
    ),
  );
  const requeue = async (why: string): Promise<undefined> => {
    entries = await Promise.all(
      entries.map((e) =>
        recordProgress(ctx.townRoot, e, { state: 'queued', last_error: why, pid: 0 }),
      ),
    );
    return undefined;
  };
  try {
    for (let attempt = 1; attempt <= ctx.maxPushAttempts; attempt++) {
      await fetchOrigin(ctx.ref);
      const series = await mergeSeries(
        ctx.ref,
        entries.map((e) => ({ head: e.head, message: mergeMessage(e) })),
      );
      if (series.kind === 'conflict')
        return await requeue(
          `batch of ${entries.length}: conflict merging ${series.head.slice(0, 12)}; merging one at a time`,
        );
      if (ctx.testCommand !== undefined) {
        const gate = await runTestGate(ctx.ref, ctx.testCommand, ctx.testTimeoutMs);
        if (!gate.passed)
          return await requeue(
            `batch of ${entries.length} failed the test gate (exit ${gate.exitCode ?? 'signal'}); merging one at a time`,
          );
      }
      if (await pushMain(ctx.ref)) {
        const results: ProcessedEntry[] = [];
        for (const [i, e] of entries.entries())
          results.push({
            ...(await finishMerged(ctx, e, series.commits[i] ?? '')),
            detail: `merged as ${(series.commits[i] ?? '').slice(0, 12)} (batch of ${entries.length})`,
            resumed: false,
          });
        return results;
      }
    }
    return await requeue(`origin's main moved during ${ctx.maxPushAttempts} attempts (batch)`);
  } catch (err) {
    await requeue(err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    await restoreClone({ ...ctx.ref, signal: undefined }).catch(() => undefined);
  }
}

async function processEntry(ctx: RigContext, entry: QueueEntry): Promise<ProcessedEntry> {
  const resumed = entry.state === 'merging';
  // (No restore here: mergeOnto starts by restoring the clone, whatever a killed run left.)
  if (resumed) {
    if (await onOriginMain(ctx.ref, entry.head)) {
      const commit = await mergeCommitFor(ctx.ref, entry.head);
      return { ...(await finishMerged(ctx, entry, commit)), resumed };
    }
  }
  let current = await recordProgress(ctx.townRoot, entry, {
    state: 'merging',
    pid: process.pid,
    attempts: entry.attempts + 1,
  });
  try {
    const result = await mergeTestPush(ctx, current);
    return { ...result, resumed };
  } catch (err) {
    // An error that is not a verdict (git broke, disk full): leave the entry queued with the error.
    const message = err instanceof Error ? err.message : String(err);
    current = await recordProgress(ctx.townRoot, current, {
      state: 'queued',
      last_error: message,
      pid: 0,
    });
    if (err instanceof GtError && err.code === 'GT_CANCELLED') throw err;
    return { id: entry.id, state: 'queued', commit: '', detail: message, resumed };
  } finally {
    // Not under the (maybe aborted) signal: a cancelled run still leaves the clone clean.
    await restoreClone({ ...ctx.ref, signal: undefined }).catch(() => undefined);
  }
}

async function mergeTestPush(
  ctx: RigContext,
  entry: QueueEntry,
): Promise<Omit<ProcessedEntry, 'resumed'>> {
  for (let attempt = 1; attempt <= ctx.maxPushAttempts; attempt++) {
    await fetchOrigin(ctx.ref);
    if (!(await hasCommit(ctx.ref, entry.head))) return rejectMissingHead(ctx, entry);
    const outcome = await mergeOnto(ctx.ref, entry.head, mergeMessage(entry));
    if (outcome.kind === 'conflict') {
      await recordProgress(ctx.townRoot, entry, {
        state: 'conflict',
        conflict_files: outcome.files,
        last_error: `conflicts: ${outcome.files.join(', ')}`,
        pid: 0,
      });
      await mailConflict(ctx.townRoot, entry, outcome.files);
      return {
        id: entry.id,
        state: 'conflict',
        commit: '',
        detail: `conflicts in ${outcome.files.join(', ')}`,
      };
    }
    if (ctx.testCommand !== undefined) {
      const gate = await runTestGate(ctx.ref, ctx.testCommand, ctx.testTimeoutMs);
      if (!gate.passed) {
        const why = gate.timedOut
          ? `test gate timed out after ${ctx.testTimeoutMs} ms: ${ctx.testCommand}`
          : `test gate failed (exit ${gate.exitCode ?? 'signal'}): ${ctx.testCommand}`;
        await recordProgress(ctx.townRoot, entry, { state: 'rejected', last_error: why, pid: 0 });
        giveIssueBack(ctx.townRoot, entry);
        await mailRejected(ctx.townRoot, entry, why, gate.tail);
        return { id: entry.id, state: 'rejected', commit: '', detail: why };
      }
    }
    if (await pushMain(ctx.ref)) return finishMerged(ctx, entry, outcome.commit);
  }
  const why = `origin's main moved during ${ctx.maxPushAttempts} attempts; left queued`;
  await recordProgress(ctx.townRoot, entry, { state: 'queued', last_error: why, pid: 0 });
  return { id: entry.id, state: 'queued', commit: '', detail: why };
}

/** The recorded head is gone from origin (branch rewritten after `gt done`): it cannot merge. */
async function rejectMissingHead(
  ctx: RigContext,
  entry: QueueEntry,
): Promise<Omit<ProcessedEntry, 'resumed'>> {
  const why = `commit ${entry.head.slice(0, 12)} is not on origin (branch rewritten after gt done?)`;
  await recordProgress(ctx.townRoot, entry, { state: 'rejected', last_error: why, pid: 0 });
  giveIssueBack(ctx.townRoot, entry);
  await mailMissingHead(ctx.townRoot, entry);
  return { id: entry.id, state: 'rejected', commit: '', detail: why };
}

async function finishMerged(
  ctx: RigContext,
  entry: QueueEntry,
  commit: string,
): Promise<Omit<ProcessedEntry, 'resumed'>> {
  const merged = await recordProgress(ctx.townRoot, entry, {
    state: 'merged',
    merged_commit: commit,
    last_error: '',
    conflict_files: [],
    pid: 0,
  });
  closeMergedIssue(ctx.townRoot, merged, commit);
  await mailMerged(ctx.townRoot, merged, commit);
  // The merge stands whatever the hook does (each patrol completes swarms too).
  await ctx.onMerged?.(merged).catch(() => undefined);
  return { id: entry.id, state: 'merged', commit, detail: `merged as ${commit.slice(0, 12)}` };
}

/** The merge commit on origin's main that brought `head` in (head itself when fast-forwarded). */
async function mergeCommitFor(ref: CloneRef, head: string): Promise<string> {
  const out = await runGit(
    ['rev-list', '--ancestry-path', '--merges', '--reverse', `${head}..origin/${ref.main}`],
    { cwd: ref.clone },
  );
  return out.split('\n').find((l) => l !== '') ?? head;
}
