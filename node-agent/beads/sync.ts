/**
 * `bd sync`: export, commit `.beads/` with git, pull (fetch + merge where issues.jsonl is merged
 * three-way by field rules, never with conflict markers), import, push; a rejected push retries.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { GtError, writeFileAtomicSync } from '../../proto/index.js';
import { gitFailed, runGitForCode, type GitResult } from '../git.js';
import { parseJsonl, serializeJsonl } from './jsonl.js';
import { mergeIssues } from './merge.js';
import type { BeadsStore, ImportResult } from './store.js';
import type { BeadIssue } from './types.js';

export interface SyncOptions {
  signal?: AbortSignal;
  /** Per git call. Default 60 s. */
  timeoutMs?: number;
  /** Commit message. */
  message?: string;
  /** Skip the push (bd sync --no-push). */
  noPush?: boolean;
}

export interface SyncResult {
  committed: boolean;
  pulled: boolean;
  pushed: boolean;
  /** Issues edited on both sides and merged by the field rules. */
  conflicts: string[];
  imported?: ImportResult;
}

interface GitRun {
  (args: string[], allowFail?: boolean): Promise<GitResult>;
}

/** git in `cwd` through the one git runner (no prompts); `allowFail`: the exit code is an answer. */
function gitRunner(cwd: string, options: SyncOptions): GitRun {
  const call = { cwd, signal: options.signal, timeoutMs: options.timeoutMs };
  return async (args, allowFail = false) => {
    const result = await runGitForCode(args, call);
    if (result.code !== 0 && !allowFail) throw gitFailed(args, cwd, result);
    return result;
  };
}

async function readAt(git: GitRun, rev: string, path: string): Promise<BeadIssue[]> {
  const shown = await git(['show', `${rev}:${path}`], true);
  if (shown.code !== 0) return [];
  return parseJsonl(shown.stdout, `${rev}:${path}`).issues;
}

/** Commit whatever changed under `.beads/`. */
async function commitBeads(git: GitRun, beadsRel: string, message: string): Promise<boolean> {
  await git(['add', '-A', '--', beadsRel]);
  const staged = await git(['diff', '--cached', '--quiet', '--', beadsRel], true);
  if (staged.code === 0) return false;
  await git(['commit', '-q', '--no-verify', '-m', message, '--', beadsRel]);
  return true;
}

interface SyncPlace {
  git: GitRun;
  root: string;
  remote: string;
  branch: string;
  beadsRel: string;
  jsonlRel: string;
}

/** Fetch the upstream branch; its commit when there is something to merge. */
async function fetchUpstream(place: SyncPlace): Promise<string | undefined> {
  const { git } = place;
  const args = ['fetch', '-q', place.remote, place.branch];
  const fetched = await git(args, true);
  if (fetched.code !== 0) {
    // The remote has no such branch yet: nothing to merge, the push creates it. Anything else
    // (unreachable remote, refused key, unknown host key) is an error, not "up to date".
    if (/couldn't find remote ref/i.test(fetched.stderr)) return undefined;
    throw gitFailed(args, place.root, fetched);
  }
  const upstream = (await git(['rev-parse', 'FETCH_HEAD'])).stdout.trim();
  const isAncestor = await git(['merge-base', '--is-ancestor', upstream, 'HEAD'], true);
  return isAncestor.code === 0 ? undefined : upstream;
}

async function startGitMerge(place: SyncPlace, upstream: string): Promise<number> {
  const { git } = place;
  const result = await git(['merge', '-q', '--no-ff', '--no-commit', upstream], true);
  const merging = await git(['rev-parse', '-q', '--verify', 'MERGE_HEAD'], true);
  if (result.code !== 0 && merging.code !== 0) {
    throw new GtError(
      'GT_GIT_FAILED',
      `git merge of ${place.remote}/${place.branch} failed: ${result.stderr.trim()}`,
      {
        hint: 'commit or stash your other changes, then run `bd sync` again',
      },
    );
  }
  const unmerged = (await git(['diff', '--name-only', '--diff-filter=U'])).stdout
    .split('\n')
    .filter((p) => p !== '' && p !== place.jsonlRel);
  if (unmerged.length > 0) {
    await git(['merge', '--abort'], true);
    throw new GtError(
      'GT_CONFLICT',
      `git merge conflict outside issues.jsonl: ${unmerged.join(', ')}`,
      {
        hint: 'resolve those files with git, commit, then run `bd sync` again',
        details: { files: unmerged },
      },
    );
  }
  return result.code;
}

/**
 * Merge `upstream` while holding the database write lock, so no bd write can export between the
 * git merge and the import: export + commit local state, merge issues.jsonl by field rules, commit
 * the merge, import it, export again.
 */
async function mergeUpstream(
  store: BeadsStore,
  place: SyncPlace,
  upstream: string,
): Promise<{ conflicts: string[]; imported: ImportResult }> {
  const { git, jsonlRel } = place;
  return store.withWriteLock(async () => {
    store.exportJsonl();
    await commitBeads(git, place.beadsRel, 'bd sync: local changes');
    const base = (await git(['merge-base', 'HEAD', upstream], true)).stdout.trim();
    const [baseIssues, ourIssues, theirIssues] = await Promise.all([
      base === '' ? Promise.resolve([]) : readAt(git, base, jsonlRel),
      readAt(git, 'HEAD', jsonlRel),
      readAt(git, upstream, jsonlRel),
    ]);
    const merged = mergeIssues(baseIssues, ourIssues, theirIssues);
    const code = await startGitMerge(place, upstream);
    try {
      writeFileAtomicSync(store.jsonlPath, serializeJsonl(merged.issues));
      const imported = store.importJsonlText(
        readFileSync(store.jsonlPath, 'utf8'),
        store.jsonlPath,
      );
      store.exportJsonl();
      await git(['add', '-A', '--', place.beadsRel]);
      const msg = code === 0 ? 'bd sync: merge' : 'bd sync: merge issues.jsonl by field rules';
      await git(['commit', '-q', '--no-verify', '-m', msg]);
      return { conflicts: merged.conflicts, imported };
    } catch (err) {
      await git(['merge', '--abort'], true);
      throw err;
    }
  });
}

/** Run a whole `bd sync` on the store's directory. */
export async function syncBeads(store: BeadsStore, options: SyncOptions = {}): Promise<SyncResult> {
  const top = await gitRunner(store.beadsDir, options)(['rev-parse', '--show-toplevel'], true);
  if (top.code !== 0) {
    throw new GtError('GT_BEADS', `${store.beadsDir} is not inside a git repository`, {
      hint: 'bd sync commits .beads/ with git: run it inside a git clone',
    });
  }
  const root = top.stdout.trim();
  const git = gitRunner(root, options);
  const beadsRel = relative(root, store.beadsDir) || '.';
  const jsonlRel = relative(root, store.jsonlPath);
  store.exportJsonl();
  const message = options.message ?? `bd sync: ${new Date().toISOString()}`;
  const result: SyncResult = { committed: false, pulled: false, pushed: false, conflicts: [] };
  result.committed = await commitBeads(git, beadsRel, message);
  const remote = (await git(['remote'])).stdout.split('\n')[0]?.trim() ?? '';
  const branch = (await git(['rev-parse', '--abbrev-ref', 'HEAD'])).stdout.trim();
  if (remote === '') return result;
  const place: SyncPlace = { git, root, remote, branch, beadsRel, jsonlRel };
  for (let attempt = 0; attempt < 5; attempt++) {
    const upstream = await fetchUpstream(place);
    if (upstream !== undefined) {
      const merge = await mergeUpstream(store, place, upstream);
      result.pulled = true;
      result.imported = merge.imported;
      result.conflicts.push(...merge.conflicts.filter((id) => !result.conflicts.includes(id)));
    }
    if (options.noPush === true) return result;
    const pushArgs = ['push', '-q', remote, `HEAD:${branch}`];
    const push = await git(pushArgs, true);
    if (push.code === 0) {
      result.pushed = true;
      return result;
    }
    // Only a push that lost a race (someone pushed first) is retried after merging theirs.
    if (!/\[rejected\]/.test(push.stderr)) throw gitFailed(pushArgs, root, push);
  }
  throw new GtError('GT_GIT_FAILED', `git push to ${remote}/${branch} kept being rejected`, {
    hint: 'someone else is pushing at the same time: run `bd sync` again',
  });
}
