/**
 * Git steps of one merge in the refinery's authoritative clone (`<rig>/refinery/rig`). The only
 * step that changes what others see is the final `git push origin HEAD:<main>` (a fast-forward,
 * never forced): a refinery killed before it leaves origin untouched, and `restoreClone` puts the
 * clone back to origin's main whatever state a killed merge left it in.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GtError } from '../../proto/index.js';
import { runGit } from '../git.js';

export interface CloneRef {
  clone: string;
  main: string;
  signal?: AbortSignal | undefined;
}

/** Commands that write commits: the Refinery is their committer, as agents are of theirs. */
const COMMITTING = new Set(['merge', 'rebase', 'commit', 'cherry-pick']);

function git(ref: CloneRef, args: string[]): Promise<string> {
  // `<town>/<rig>/refinery/rig`: a machine with no git identity of its own (a freshly provisioned
  // host) still merges; the commits name `<rig>/refinery`.
  const rig = basename(dirname(dirname(ref.clone)));
  const who = COMMITTING.has(args[0] ?? '')
    ? ['-c', `user.name=${rig}/refinery`, '-c', `user.email=refinery.${rig}@gastown.invalid`]
    : [];
  return runGit([...who, ...args], { cwd: ref.clone, signal: ref.signal });
}

export async function fetchOrigin(ref: CloneRef): Promise<void> {
  await git(ref, ['fetch', '--quiet', '--prune', 'origin']);
}

/** Abort whatever a killed merge left, and put the clone on origin's main, clean. */
export async function restoreClone(ref: CloneRef): Promise<void> {
  if (existsSync(join(ref.clone, '.git', 'MERGE_HEAD')))
    await git(ref, ['merge', '--abort']).catch(() => undefined);
  if (
    existsSync(join(ref.clone, '.git', 'rebase-merge')) ||
    existsSync(join(ref.clone, '.git', 'rebase-apply'))
  )
    await git(ref, ['rebase', '--abort']).catch(() => undefined);
  await git(ref, ['checkout', '--quiet', '--force', '-B', ref.main, `origin/${ref.main}`]);
  await git(ref, ['reset', '--quiet', '--hard', `origin/${ref.main}`]);
  await git(ref, ['clean', '-fdxq']);
}

/** Whether `commit` is already on origin's main (a merge that was pushed before a crash). */
export async function onOriginMain(ref: CloneRef, commit: string): Promise<boolean> {
  try {
    await git(ref, ['merge-base', '--is-ancestor', commit, `origin/${ref.main}`]);
    return true;
  } catch {
    return false;
  }
}

/** Whether the clone has `sha` as a commit (after a fetch: whether origin still has it). */
export async function hasCommit(ref: CloneRef, sha: string): Promise<boolean> {
  try {
    await git(ref, ['cat-file', '-e', `${sha}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

export async function originMain(ref: CloneRef): Promise<string> {
  return git(ref, ['rev-parse', `origin/${ref.main}`]);
}

/** Files the commit changes relative to origin's main (since their merge base). */
export async function changedFiles(ref: CloneRef, commit: string): Promise<string[]> {
  const out = await git(ref, ['diff', '--name-only', `origin/${ref.main}...${commit}`]);
  return out.split('\n').filter((l) => l !== '');
}

export type MergeOutcome =
  { kind: 'merged'; commit: string } | { kind: 'conflict'; files: string[] };

/** Merge `head` onto origin's main in the clone (a merge commit, never a fast-forward). */
export async function mergeOnto(
  ref: CloneRef,
  head: string,
  message: string,
): Promise<MergeOutcome> {
  await restoreClone(ref);
  try {
    await git(ref, ['merge', '--no-ff', '--no-edit', '-m', message, head]);
  } catch (err) {
    const out = await git(ref, ['diff', '--name-only', '--diff-filter=U']).catch(() => '');
    const files = out.split('\n').filter((l) => l !== '');
    await restoreClone(ref);
    if (files.length > 0) return { kind: 'conflict', files };
    throw err;
  }
  return { kind: 'merged', commit: await git(ref, ['rev-parse', 'HEAD']) };
}

/**
 * Merge several heads onto origin's main one after another (one merge commit each, in order).
 * On a conflict the clone is restored and the conflicting head is named.
 */
export async function mergeSeries(
  ref: CloneRef,
  items: ReadonlyArray<{ head: string; message: string }>,
): Promise<{ kind: 'merged'; commits: string[] } | { kind: 'conflict'; head: string }> {
  await restoreClone(ref);
  const commits: string[] = [];
  for (const item of items) {
    try {
      await git(ref, ['merge', '--no-ff', '--no-edit', '-m', item.message, item.head]);
    } catch {
      await restoreClone(ref);
      return { kind: 'conflict', head: item.head };
    }
    commits.push(await git(ref, ['rev-parse', 'HEAD']));
  }
  return { kind: 'merged', commits };
}

/** Push the clone's HEAD as origin's main (never forced). false = origin moved (non-fast-forward). */
export async function pushMain(ref: CloneRef): Promise<boolean> {
  try {
    await git(ref, ['push', '--quiet', 'origin', `HEAD:refs/heads/${ref.main}`]);
    return true;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (/rejected|stale info|non-fast-forward|fetch first/i.test(text)) return false;
    throw err;
  }
}

export function requireClone(clone: string, rig: string): void {
  if (!existsSync(join(clone, '.git')))
    throw new GtError('GT_NOT_FOUND', `rig ${rig} has no refinery clone at ${clone}`, {
      hint: '`gt doctor --fix` re-creates missing clones',
    });
}
