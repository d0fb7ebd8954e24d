/**
 * The town's git identity for origins over ssh: one private key (`config/git/identity`, 0600)
 * and the host keys it may trust (`config/git/known_hosts`), the same files on every machine of
 * the town (copied there when a machine is provisioned or the identity is set).
 *
 * How git uses it: `core.sshCommand` in each clone's own .git/config (written by
 * `git clone -c …`, or `git config` for a clone that exists), so every git that runs in the
 * clone — the node agent's fetches and pushes, an agent's own `git push` in its session, the
 * Overseer by hand — uses the same key, and no agent environment carries a credential. The key
 * path is fixed per town, so replacing the key rewrites no clone; `applyGitIdentity` brings a
 * clone in line (set, or unset our own value once the identity is removed) before the node agent
 * talks to origin. Without a town identity nothing is written: git uses the machine's own ssh
 * configuration and agent, as before. The key's contents are never logged.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runGitForCode, runGit, type GitCallOptions } from './git.js';

export interface GitIdentityPaths {
  dir: string;
  key: string;
  knownHosts: string;
}

/** Where a town keeps its git identity (the same relative place on every machine). */
export function gitIdentityPaths(townRoot: string): GitIdentityPaths {
  const dir = join(townRoot, 'config', 'git');
  return { dir, key: join(dir, 'identity'), knownHosts: join(dir, 'known_hosts') };
}

/** One argument for `sh -c`, quoted so the shell passes it through unchanged. */
export function quoteForShell(arg: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The ssh command git runs for an origin over ssh with the town's identity (git runs
 * core.sshCommand through the shell, so each path is quoted): only this key, only these host
 * keys, never a prompt.
 */
export function identitySshCommand(paths: Pick<GitIdentityPaths, 'key' | 'knownHosts'>): string {
  return [
    'ssh',
    '-i',
    paths.key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${paths.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
  ]
    .map(quoteForShell)
    .join(' ');
}

/** The town's ssh command for git, or undefined when the town has no git identity. */
export function townSshCommand(townRoot: string): string | undefined {
  const paths = gitIdentityPaths(townRoot);
  return existsSync(paths.key) ? identitySshCommand(paths) : undefined;
}

/** `-c core.sshCommand=…` for a `git clone` (kept in the new clone's config), or nothing. */
export function identityCloneArgs(townRoot: string): string[] {
  const command = townSshCommand(townRoot);
  return command === undefined ? [] : ['-c', `core.sshCommand=${command}`];
}

/**
 * Bring a clone's core.sshCommand in line with the town's identity: set it when the town has one;
 * when it has none, remove it only where it is the town's own value (a user's setting is kept).
 * Returns what was done.
 */
export async function applyGitIdentity(
  clone: string,
  townRoot: string,
  options: Omit<GitCallOptions, 'cwd'> = {},
): Promise<'set' | 'unset' | 'unchanged'> {
  const call = { ...options, cwd: clone };
  const current = await runGitForCode(['config', '--local', '--get', 'core.sshCommand'], call);
  const value = current.code === 0 ? current.stdout.replace(/\n$/, '') : undefined;
  const wanted = townSshCommand(townRoot);
  if (wanted !== undefined) {
    if (value === wanted) return 'unchanged';
    await runGit(['config', '--local', 'core.sshCommand', wanted], call);
    return 'set';
  }
  if (value === undefined || value !== identitySshCommand(gitIdentityPaths(townRoot)))
    return 'unchanged';
  await runGit(['config', '--local', '--unset', 'core.sshCommand'], call);
  return 'unset';
}
