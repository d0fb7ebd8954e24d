/**
 * A polecat's clone: made fast (`git clone --local` from the refinery's clone: hard links, no
 * network), then origin pointed at the rig's git_url; a reused clone is refreshed instead. Either
 * way the polecat gets a fresh branch for its issue from origin's default branch.
 */
import { existsSync } from 'node:fs';
import {
  cloneRepo,
  currentBranch,
  runGit,
  setRemoteUrl,
  statusPorcelain,
  unpushedCommits,
} from '../git.js';
import { applyGitIdentity, townSshCommand } from '../git-identity.js';
import { GtError } from '../../proto/index.js';

export interface PolecatCloneOptions {
  home: string;
  /** The town: its git identity (if any) goes into the clone's core.sshCommand. */
  townRoot: string;
  /** The rig's refinery clone on this machine; absent on a satellite (cloned from gitUrl). */
  refineryClone: string;
  gitUrl: string;
  defaultBranch: string;
  branch: string;
  signal?: AbortSignal | undefined;
}

/** Uncommitted files and unpushed commits of a clone (empty: nothing would be lost). */
export async function unsavedWorkIn(clone: string): Promise<string[]> {
  if (!existsSync(`${clone}/.git`)) return [];
  const dirty = (await statusPorcelain(clone)).map((l) => `uncommitted: ${l.slice(3)}`);
  const unpushed = (await unpushedCommits(clone)).map((c) => `unpushed commit: ${c}`);
  return [...dirty, ...unpushed];
}

/** Make or refresh the clone and check out `branch` from origin/<default>. Returns whether reused. */
export async function preparePolecatClone(options: PolecatCloneOptions): Promise<boolean> {
  const { home, signal } = options;
  const reused = existsSync(`${home}/.git`);
  if (!reused && existsSync(`${options.refineryClone}/.git`)) {
    await cloneRepo({ url: options.refineryClone, dest: home, local: true, signal });
    await setRemoteUrl(home, 'origin', options.gitUrl, { signal });
  } else if (!reused) {
    // A satellite: straight from origin, with the town's git identity from the first fetch.
    const sshCommand = townSshCommand(options.townRoot);
    await cloneRepo({ url: options.gitUrl, dest: home, signal, sshCommand });
  }
  await applyGitIdentity(home, options.townRoot, { signal });
  await runGit(['fetch', '--quiet', 'origin', options.defaultBranch], { cwd: home, signal });
  await runGit(
    ['checkout', '--quiet', '--no-track', '-B', options.branch, `origin/${options.defaultBranch}`],
    { cwd: home, signal },
  );
  return reused;
}

/** Refuse to hand a polecat with unsaved work a new assignment. */
export async function assertReusable(address: string, clone: string): Promise<void> {
  const unsaved = await unsavedWorkIn(clone);
  if (unsaved.length === 0) return;
  const branch = (await currentBranch(clone)) ?? 'a detached HEAD';
  throw new GtError(
    'GT_DIRTY',
    `polecat ${address} has work that is not saved on origin (${branch}): ${unsaved.slice(0, 5).join('; ')}${unsaved.length > 5 ? ` (+${unsaved.length - 5} more)` : ''}`,
    {
      hint: `commit and push it in ${clone} (or let the polecat finish), or spawn another polecat with --name`,
      details: { address, unsaved },
    },
  );
}
