/**
 * Git, run as a program with argv arrays (never a shell), with no prompts: a git that would ask
 * for a password or a host key fails fast instead of hanging a daemon. Every call takes
 * `{ cwd, signal?, timeoutMs? }`; failures become GT_GIT_FAILED with the command and the tail of
 * git's stderr.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { GtError } from '../proto/index.js';

export interface GitCallOptions {
  cwd: string;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const CLONE_TIMEOUT_MS = 10 * 60_000;
const STDERR_TAIL_CHARS = 600;

const DEFAULT_SSH_COMMAND = 'ssh -o BatchMode=yes';
/** Commands that may open a connection to a remote. */
const NETWORK_COMMANDS: ReadonlySet<string> = new Set([
  'clone',
  'fetch',
  'push',
  'pull',
  'ls-remote',
]);

/**
 * The ssh command git should get from the environment, or undefined to leave it to the
 * repository: git lets GIT_SSH_COMMAND override core.sshCommand, so where a clone (or a
 * `git -c core.sshCommand=…` call) names its own — the town's git identity — the variable is
 * left out. Elsewhere: the caller's GIT_SSH_COMMAND, else ssh in batch mode (no prompts).
 */
async function envSshCommand(args: readonly string[], cwd: string): Promise<string | undefined> {
  const verb = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c');
  if (verb === undefined || !NETWORK_COMMANDS.has(verb))
    return process.env['GIT_SSH_COMMAND'] ?? DEFAULT_SSH_COMMAND;
  if (args.some((a) => a.startsWith('core.sshCommand='))) return undefined;
  if (verb !== 'clone' && (await repoSshCommand(cwd))) return undefined;
  return process.env['GIT_SSH_COMMAND'] ?? DEFAULT_SSH_COMMAND;
}

/** Whether the repository at `cwd` sets core.sshCommand (one `git config` read). */
function repoSshCommand(cwd: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    execFile(
      'git',
      ['config', '--get', 'core.sshCommand'],
      { cwd, env: { ...process.env, LC_ALL: 'C' }, timeout: 10_000, windowsHide: true },
      (err, stdout) => resolvePromise(err === null && String(stdout).trim() !== ''),
    );
  });
}

function gitEnv(sshCommand: string | undefined): NodeJS.ProcessEnv {
  // The child inherits the caller's environment (HOME, SSH_AUTH_SOCK, PATH...) with prompts off.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'true',
    SSH_ASKPASS: 'true',
    // A merge never opens an editor for its message.
    GIT_MERGE_AUTOEDIT: 'no',
    LC_ALL: 'C',
  };
  if (sshCommand === undefined) delete env['GIT_SSH_COMMAND'];
  else env['GIT_SSH_COMMAND'] = sshCommand;
  return env;
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length <= STDERR_TAIL_CHARS ? trimmed : `…${trimmed.slice(-STDERR_TAIL_CHARS)}`;
}

function hintFor(args: readonly string[], stderr: string): string {
  if (/Host key verification failed/i.test(stderr))
    return "this machine does not know the remote's ssh host key (or it changed): add it to ~/.ssh/known_hosts, or to the town's with `gt git-identity set KEY --known-hosts FILE` (check it first), then retry";
  if (/could not read Username|Authentication failed|Permission denied/i.test(stderr))
    return 'check that this machine can reach the repository without a prompt: give the town a key the repository accepts with `gt git-identity set KEY --known-hosts FILE` (or an ssh key / credential helper on the machine)';
  if (/does not appear to be a git repository|does not exist|not found|No such file/i.test(stderr))
    return 'check the repository URL or path';
  if (args[0] === 'clone') return 'check the repository URL and that it is reachable from here';
  return 'run the same git command by hand in that directory to see what is wrong';
}

export interface GitResult {
  /** git's exit code (0 = success). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The one way git is run. `answers`: the exit code is an answer (diff --quiet, merge-base
 * --is-ancestor, fetch of a branch that may not exist yet), so a non-zero exit resolves; git
 * missing, a timeout or a cancel reject either way.
 */
async function execGit(
  args: readonly string[],
  options: GitCallOptions,
  answers: boolean,
): Promise<GitResult> {
  const command = `git ${args.join(' ')}`;
  const ssh = await envSshCommand(args, options.cwd);
  return new Promise((resolvePromise, reject) => {
    execFile(
      'git',
      [...args],
      {
        cwd: options.cwd,
        env: gitEnv(ssh),
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        signal: options.signal,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (err === null) {
          resolvePromise({ code: 0, stdout, stderr });
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
        if (e.name === 'AbortError') {
          reject(new GtError('GT_CANCELLED', `${command} was cancelled`, { cause: err }));
          return;
        }
        if (answers && !e.killed && typeof e.code === 'number') {
          resolvePromise({ code: e.code, stdout, stderr });
          return;
        }
        const why = e.killed
          ? `timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`
          : e.code === 'ENOENT'
            ? 'git is not installed or not on PATH'
            : tail(stderr) || err.message;
        reject(
          new GtError('GT_GIT_FAILED', `${command} (in ${options.cwd}) failed: ${why}`, {
            hint: hintFor(args, stderr),
            cause: err,
          }),
        );
      },
    );
  });
}

/** Run `git <args>` in `cwd`; resolves to stdout (trailing newline removed). */
export async function runGit(args: readonly string[], options: GitCallOptions): Promise<string> {
  return (await execGit(args, options, false)).stdout.replace(/\n$/, '');
}

/**
 * Run `git <args>` whose exit code is an answer: resolves with code, stdout and stderr whatever
 * the exit code. Same environment and guards as runGit; git missing, a timeout or a cancel reject.
 */
export function runGitForCode(
  args: readonly string[],
  options: GitCallOptions,
): Promise<GitResult> {
  return execGit(args, options, true);
}

/** GT_GIT_FAILED for a git run whose non-zero exit was not an answer the caller expected. */
export function gitFailed(args: readonly string[], cwd: string, result: GitResult): GtError {
  return new GtError(
    'GT_GIT_FAILED',
    `git ${args.join(' ')} (in ${cwd}) failed: ${tail(result.stderr) || `exit code ${result.code}`}`,
    { hint: hintFor(args, result.stderr) },
  );
}

/** A URL git understands (scheme://…, scp-like user@host:path), or a local path made absolute. */
export function normalizeGitUrl(gitUrl: string, cwd: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(gitUrl)) return gitUrl;
  if (/^[^/\s]+@[^/\s:]+:/.test(gitUrl)) return gitUrl;
  return isAbsolute(gitUrl) ? resolve(gitUrl) : resolve(cwd, gitUrl);
}

export interface CloneOptions {
  url: string;
  dest: string;
  /** `git clone --local` (hard links) from a local repository. */
  local?: boolean;
  branch?: string | undefined;
  /** core.sshCommand for the clone and every git run in it later (the town's git identity). */
  sshCommand?: string | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/** Clone `url` into `dest` (which must not exist or be empty). */
export async function cloneRepo(options: CloneOptions): Promise<void> {
  const args = ['clone', '--quiet'];
  if (options.local === true) args.push('--local');
  if (options.branch !== undefined) args.push('--branch', options.branch);
  if (options.sshCommand !== undefined) args.push('-c', `core.sshCommand=${options.sshCommand}`);
  args.push('--', options.url, options.dest);
  await runGit(args, {
    cwd: resolve(options.dest, '..'),
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? CLONE_TIMEOUT_MS,
  });
}

/** True when `dir` is the top of a git work tree (has its own .git, not a parent's). */
export async function isRepoRoot(
  dir: string,
  options: Omit<GitCallOptions, 'cwd'> = {},
): Promise<boolean> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
  try {
    const top = await runGit(['rev-parse', '--show-toplevel'], { ...options, cwd: dir });
    return resolve(top) === resolve(dir);
  } catch {
    return false;
  }
}

/** The checked-out branch, or undefined when HEAD is detached. */
export async function currentBranch(
  dir: string,
  options: Omit<GitCallOptions, 'cwd'> = {},
): Promise<string | undefined> {
  try {
    return await runGit(['symbolic-ref', '--quiet', '--short', 'HEAD'], { ...options, cwd: dir });
  } catch (err) {
    if (!(await isRepoRoot(dir))) throw err;
    return undefined;
  }
}

/**
 * `git status --porcelain` lines (untracked included); empty when the work tree is clean. Without
 * optional locks: looking must not write the index (that fails on a full disk and races the
 * agent working in the clone).
 */
export async function statusPorcelain(
  dir: string,
  options: Omit<GitCallOptions, 'cwd'> = {},
): Promise<string[]> {
  const out = await runGit(
    ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=normal'],
    {
      ...options,
      cwd: dir,
    },
  );
  return out.split('\n').filter((line) => line.length > 0);
}

export async function isClean(
  dir: string,
  options: Omit<GitCallOptions, 'cwd'> = {},
): Promise<boolean> {
  return (await statusPorcelain(dir, options)).length === 0;
}

/** Commits on local branches that no remote-tracking branch contains (work not pushed). */
export async function unpushedCommits(
  dir: string,
  options: Omit<GitCallOptions, 'cwd'> = {},
): Promise<string[]> {
  const out = await runGit(['log', '--branches', '--not', '--remotes', '--format=%h %s'], {
    ...options,
    cwd: dir,
  });
  return out.split('\n').filter((line) => line.length > 0);
}

/** Stash entries (work parked but not committed). */
export async function stashCount(
  dir: string,
  options: Omit<GitCallOptions, 'cwd'> = {},
): Promise<number> {
  const out = await runGit(['stash', 'list'], { ...options, cwd: dir });
  return out.split('\n').filter((line) => line.length > 0).length;
}

export async function getRemoteUrl(
  dir: string,
  remote = 'origin',
  options: Omit<GitCallOptions, 'cwd'> = {},
): Promise<string | undefined> {
  try {
    return await runGit(['remote', 'get-url', remote], { ...options, cwd: dir });
  } catch {
    return undefined;
  }
}

export async function setRemoteUrl(
  dir: string,
  remote: string,
  url: string,
  options: Omit<GitCallOptions, 'cwd'> = {},
): Promise<void> {
  await runGit(['remote', 'set-url', remote, url], { ...options, cwd: dir });
}
