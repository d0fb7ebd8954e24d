/**
 * `bd sync`: export, commit `.beads/` with git, pull (fetch + merge where issues.jsonl is merged
 * three-way by field rules, never with conflict markers), import, push; a rejected push retries.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { GtError, errorMessage, writeFileAtomicSync } from '../../proto/index.js';
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
  (args: string[], allowFail?: boolean): Promise<{ code: number; stdout: string; stderr: string }>;
}

function gitRunner(cwd: string, options: SyncOptions): GitRun {
  return (args, allowFail = false) =>
    new Promise((resolve, reject) => {
      execFile(
        'git',
        args,
        {
          cwd,
          timeout: options.timeoutMs ?? 60_000,
          signal: options.signal,
          maxBuffer: 256 * 1024 * 1024,
          env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_MERGE_AUTOEDIT: 'no' },
        },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
          if (err !== null && (!allowFail || typeof err.code !== 'number')) {
            reject(
              new GtError(
                'GT_GIT_FAILED',
                `git ${args.join(' ')} failed: ${stderr.trim() || errorMessage(err)}`,
                {
                  hint: 'fix the git problem above and run `bd sync` again',
                  cause: err,
                },
              ),
            );
            return;
          }
          resolve({ code, stdout, stderr });
        },
      );
    });
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

/** Fetch and merge the upstream branch; issues.jsonl is merged by field rules. */
async function pullAndMerge(
  git: GitRun,
  remote: string,
  branch: string,
  jsonlRel: string,
  jsonlPath: string,
): Promise<{ pulled: boolean; conflicts: string[] }> {
  const fetched = await git(['fetch', '-q', remote, branch], true);
  if (fetched.code !== 0) return { pulled: false, conflicts: [] }; // no upstream branch yet
  const upstream = (await git(['rev-parse', 'FETCH_HEAD'])).stdout.trim();
  const isAncestor = await git(['merge-base', '--is-ancestor', upstream, 'HEAD'], true);
  if (isAncestor.code === 0) return { pulled: false, conflicts: [] };
  const base = (await git(['merge-base', 'HEAD', upstream], true)).stdout.trim();
  const [baseIssues, ourIssues, theirIssues] = await Promise.all([
    base === '' ? Promise.resolve([]) : readAt(git, base, jsonlRel),
    readAt(git, 'HEAD', jsonlRel),
    readAt(git, upstream, jsonlRel),
  ]);
  const merged = mergeIssues(baseIssues, ourIssues, theirIssues);
  const result = await git(['merge', '-q', '--no-ff', '--no-commit', upstream], true);
  const merging = await git(['rev-parse', '-q', '--verify', 'MERGE_HEAD'], true);
  if (result.code !== 0 && merging.code !== 0) {
    throw new GtError(
      'GT_GIT_FAILED',
      `git merge of ${remote}/${branch} failed: ${result.stderr.trim()}`,
      {
        hint: 'commit or stash your other changes, then run `bd sync` again',
      },
    );
  }
  const unmerged = (await git(['diff', '--name-only', '--diff-filter=U'])).stdout
    .split('\n')
    .filter((p) => p !== '' && p !== jsonlRel);
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
  writeFileAtomicSync(jsonlPath, serializeJsonl(merged.issues));
  await git(['add', '--', jsonlRel]);
  const msg = result.code === 0 ? 'bd sync: merge' : 'bd sync: merge issues.jsonl by field rules';
  await git(['commit', '-q', '--no-verify', '-m', msg]);
  return { pulled: true, conflicts: merged.conflicts };
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
  for (let attempt = 0; attempt < 5; attempt++) {
    const pull = await pullAndMerge(git, remote, branch, jsonlRel, store.jsonlPath);
    result.pulled ||= pull.pulled;
    result.conflicts.push(...pull.conflicts.filter((id) => !result.conflicts.includes(id)));
    if (pull.pulled) {
      result.imported = store.importJsonlText(
        readFileSync(store.jsonlPath, 'utf8'),
        store.jsonlPath,
      );
      store.exportJsonl();
      await commitBeads(git, beadsRel, 'bd sync: normalise issues.jsonl');
    }
    if (options.noPush === true) return result;
    const push = await git(['push', '-q', remote, `HEAD:${branch}`], true);
    if (push.code === 0) {
      result.pushed = true;
      return result;
    }
  }
  throw new GtError('GT_GIT_FAILED', `git push to ${remote}/${branch} kept being rejected`, {
    hint: 'someone else is pushing at the same time: run `bd sync` again',
  });
}
