/**
 * Can this machine reach a rig's origin and push to it? Asked before a polecat is placed here
 * (CheckOrigin), with the town's git identity when it has one (node-agent/git-identity.ts).
 *
 *   reach  `git ls-remote --heads <url>`: the machine resolves and connects to the server, trusts
 *          its host key, logs in and may read the repository.
 *   push   `git push --dry-run <url> <probe commit>:refs/heads/gt-push-probe/<random>` from a
 *          scratch repository: git opens the server's receive-pack service, so a key the
 *          server refuses for writing (a read-only deploy key, a user without push access on a
 *          forge) fails here. Nothing is sent and no ref is created. It cannot prove what only a
 *          real update shows: file permissions inside a plain ssh server's repository, or
 *          server-side hooks and branch protection (polecats push their own branches, which
 *          protection rarely covers). For a path origin, the directory must also be writable.
 * A path origin (`/srv/…`, file://) that this machine does not have is not reachable, and the hint
 * says to give the rig an ssh:// or https:// origin. Each git call has a timeout.
 */
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GtError, errorMessage } from '../proto/index.js';
import { runGit, runGitForCode } from './git.js';
import { gitIdentityPaths, townSshCommand } from './git-identity.js';

export interface CheckOriginOptions {
  townRoot: string;
  /** This machine's name, for the texts. */
  machine: string;
  url: string;
  signal?: AbortSignal | undefined;
  /** Each git call's limit (default 20 s). */
  timeoutMs?: number | undefined;
  /** Reuse a positive answer this young (default ORIGIN_CHECK_CACHE_MS; 0: ask afresh). */
  maxAgeMs?: number | undefined;
}

export interface OriginCheck {
  reachable: boolean;
  pushable: boolean;
  detail: string;
  hint: string;
}

const SET_IDENTITY = '`gt git-identity set KEY --known-hosts FILE`';
export const PATH_ORIGIN_HINT =
  "the origin is a path only its home machine has: give the rig an ssh:// or https:// origin that every machine can reach, or run the rig's polecats on its home machine";

/** The local path a URL names (a plain path or file://), or undefined for a network URL. */
export function originPath(url: string): string | undefined {
  if (url.startsWith('file://')) return decodeURIComponent(url.slice('file://'.length));
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) || /^[^/\s]+@[^/\s:]+:/.test(url)) return undefined;
  return url;
}

/** What to do about a failed git call against origin, from git's (and ssh's) stderr. */
export function originHint(stderr: string, machine: string, identity: boolean): string {
  if (
    /Host key verification failed|HOST IDENTIFICATION HAS CHANGED|host key .* not known/i.test(
      stderr,
    )
  )
    return identity
      ? `${machine} does not trust the origin's ssh host key (unknown or changed): check the key and put it in the town's git known_hosts with ${SET_IDENTITY}`
      : `${machine} does not trust the origin's ssh host key: set the town's git identity with ${SET_IDENTITY} (its known_hosts holds the origin's key), or add the key to ~/.ssh/known_hosts on ${machine}`;
  if (
    /Permission denied|publickey|Authentication failed|could not read Username|read[ -]only|access denied|not allowed|forbidden/i.test(
      stderr,
    )
  )
    return identity
      ? `the origin refuses the town's git identity: give the repository a key with write access (a deploy key with write access) and set it with ${SET_IDENTITY}`
      : `set the town's git identity with ${SET_IDENTITY}: a key the origin accepts for pushing`;
  if (
    /Could not resolve|Connection refused|timed out|No route to host|Network is unreachable|Connection closed|Connection reset/i.test(
      stderr,
    )
  )
    return `${machine} cannot connect to the origin's server: check its network and firewall, or give the rig an origin every machine can reach`;
  if (/does not appear to be a git repository|not found|No such file|does not exist/i.test(stderr))
    return "check the rig's origin URL: the server has no repository there";
  return `run \`git ls-remote <url>\` on ${machine} to see what is wrong`;
}

/** git's reason, without its generic advice lines and ssh's warning banner, on one line. */
function lastLines(text: string): string {
  if (/Host key verification failed/.test(text))
    return /HOST IDENTIFICATION HAS CHANGED/.test(text)
      ? "the server's host key differs from the trusted one (ssh: REMOTE HOST IDENTIFICATION HAS CHANGED; Host key verification failed)"
      : "the server's host key is not trusted (ssh: Host key verification failed)";
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Please make sure|^and the repository exists|^@/.test(l));
  const joined = lines.join(' / ');
  return joined.length <= 400 ? joined : `${joined.slice(0, 400)}…`;
}

/** Run git against origin; a timeout or cancel becomes a failed answer, not an exception. */
async function ask(
  args: string[],
  cwd: string,
  o: CheckOriginOptions,
): Promise<{ ok: boolean; stderr: string }> {
  try {
    const r = await runGitForCode(args, {
      cwd,
      signal: o.signal,
      timeoutMs: o.timeoutMs ?? 20_000,
    });
    return { ok: r.code === 0, stderr: r.stderr };
  } catch (err) {
    if (err instanceof GtError && err.code === 'GT_CANCELLED') throw err;
    return { ok: false, stderr: errorMessage(err) };
  }
}

/**
 * The scratch repository the push probe pushes from (one empty commit), kept under run/ and
 * made once: built in a temp dir and renamed into place, so concurrent checks never see half.
 */
async function probeRepo(o: CheckOriginOptions): Promise<string> {
  const repo = join(o.townRoot, 'run', 'origin-probe');
  if (existsSync(join(repo, '.git', 'refs', 'heads', 'probe'))) return repo;
  const tmp = `${repo}.${process.pid}.${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp, { recursive: true });
  try {
    const call = { cwd: tmp, signal: o.signal };
    await runGit(['init', '-q', '-b', 'probe'], call);
    const who = ['-c', 'user.name=gt', '-c', 'user.email=gt@localhost'];
    await runGit([...who, 'commit', '-q', '--allow-empty', '-m', 'push probe'], call);
    try {
      renameSync(tmp, repo);
    } catch {
      /* another check made it first */
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return repo;
}

/** The push probe: the probe commit pushed with --dry-run to a throw-away branch name. */
async function probePush(
  o: CheckOriginOptions,
  ssh: string[],
): Promise<{ ok: boolean; stderr: string }> {
  const repo = await probeRepo(o);
  const ref = `refs/heads/gt-push-probe/${randomBytes(6).toString('hex')}`;
  return ask([...ssh, 'push', '--dry-run', '--quiet', '--', o.url, `probe:${ref}`], repo, o);
}

/** Positive answers, by town, URL and identity (its files' mtimes): see ORIGIN_CHECK_CACHE_MS. */
const answered = new Map<string, { at: number; check: OriginCheck }>();
/** How long a positive answer is reused: a swarm's spawns ask once, not once per polecat. */
export const ORIGIN_CHECK_CACHE_MS = 5 * 60_000;

function cacheKey(o: CheckOriginOptions): string {
  const paths = gitIdentityPaths(o.townRoot);
  const stamp = [paths.key, paths.knownHosts].map((f) =>
    existsSync(f) ? String(statSync(f).mtimeMs) : '-',
  );
  return JSON.stringify([o.townRoot, o.machine, o.url, ...stamp]);
}

/**
 * Check reach and push access to `url` from this machine; never throws for a refusal. A positive
 * answer is reused for `maxAgeMs` (default ORIGIN_CHECK_CACHE_MS; 0 asks afresh) unless the
 * town's identity changed since; a refusal is never reused.
 */
export async function checkOrigin(o: CheckOriginOptions): Promise<OriginCheck> {
  const key = cacheKey(o);
  const hit = answered.get(key);
  const maxAgeMs = o.maxAgeMs ?? ORIGIN_CHECK_CACHE_MS;
  if (hit !== undefined && Date.now() - hit.at < maxAgeMs) return hit.check;
  const check = await askOrigin(o);
  if (check.pushable) answered.set(key, { at: Date.now(), check });
  else answered.delete(key);
  return check;
}

async function askOrigin(o: CheckOriginOptions): Promise<OriginCheck> {
  const { machine, url } = o;
  const path = originPath(url);
  if (path !== undefined && !existsSync(path))
    return {
      reachable: false,
      pushable: false,
      detail: `${machine} has no ${path}: the rig's origin ${url} is a path on another machine`,
      hint: PATH_ORIGIN_HINT,
    };
  const command = path === undefined ? townSshCommand(o.townRoot) : undefined;
  const ssh = command === undefined ? [] : ['-c', `core.sshCommand=${command}`];
  const identity = command !== undefined;
  // Both at once (each is a connection to the server); the reach answer is read first.
  const [reach, push] = await Promise.all([
    ask([...ssh, 'ls-remote', '--heads', '--', url], o.townRoot, o),
    probePush(o, ssh),
  ]);
  if (!reach.ok)
    return {
      reachable: false,
      pushable: false,
      detail: `${machine} cannot reach ${url}: ${lastLines(reach.stderr)}`,
      hint: originHint(reach.stderr, machine, identity),
    };
  let writable = push.ok;
  let why = lastLines(push.stderr);
  if (writable && path !== undefined)
    try {
      accessSync(path, constants.W_OK);
    } catch {
      writable = false;
      why = `${path} is not writable by the node agent's user`;
    }
  if (!writable)
    return {
      reachable: true,
      pushable: false,
      detail: `${machine} can read ${url} but not push to it: ${why}`,
      hint:
        path !== undefined
          ? `give the node agent's user on ${machine} write access to ${path}`
          : originHint(push.stderr, machine, identity),
    };
  return {
    reachable: true,
    pushable: true,
    detail: `${machine} reaches ${url} and may push to it${identity ? " (with the town's git identity)" : ''}`,
    hint: '',
  };
}

/** The refusal for a check that failed (GT_ORIGIN_UNREACHABLE), for spawn and placement. */
export function originRefusal(check: OriginCheck, machine: string, url: string): GtError {
  return new GtError('GT_ORIGIN_UNREACHABLE', check.detail, {
    hint: check.hint,
    details: { machine, url, reachable: check.reachable, pushable: check.pushable },
  });
}

/** Check, and throw GT_ORIGIN_UNREACHABLE unless the origin is reachable and pushable. */
export async function assertOriginUsable(o: CheckOriginOptions): Promise<OriginCheck> {
  const check = await checkOrigin(o);
  if (!check.reachable || !check.pushable) throw originRefusal(check, o.machine, o.url);
  return check;
}
