// The test host image: a bare Debian bookworm (minbase + sshd, git, tmux, CA certificates — NO
// Node.js; putting the runtime there is what provisioning does), built locally with debootstrap
// because no registry can be pulled from. Built only when `docker image inspect` says the tag is
// missing, under a lock so parallel suites build it once; the tag carries a hash of the recipe,
// so changing the recipe builds a new image instead of reusing a stale one.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const SUITE = 'bookworm';
const PACKAGES = ['openssh-server', 'git', 'tmux', 'ca-certificates', 'procps', 'iproute2'];
/** Commands run inside the new root before it is imported (chroot). */
const SETUP = [
  ['mkdir', '-p', '/run/sshd'],
  ['ssh-keygen', '-A'],
  // sshd logs to stderr (-e); root logs in with a key only.
  [
    'sh',
    '-c',
    'printf "PermitRootLogin prohibit-password\\nPasswordAuthentication no\\n" > /etc/ssh/sshd_config.d/gt-test.conf',
  ],
];
const CMD = '["/usr/sbin/sshd","-D","-e"]';

export const IMAGE_REPO = 'gastown-test-host';

/** The image tag for the current recipe. */
export function imageTag(): string {
  const recipe = JSON.stringify({ SUITE, PACKAGES, SETUP, CMD, v: 1 });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  return `${IMAGE_REPO}:${hash}`;
}

/** The Debian mirror from this machine's apt sources (never a host written into the repo). */
export function debianMirror(): string {
  const text = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
  for (const line of text.split('\n')) {
    const m = /^URIs:\s*(\S+)/.exec(line);
    if (m?.[1] && /\/debian\/?$/.test(m[1])) return m[1];
  }
  throw new Error('no `URIs: …/debian` line in /etc/apt/sources.list.d/debian.sources');
}

async function imageExists(tag: string): Promise<boolean> {
  try {
    await execFileP('docker', ['image', 'inspect', tag]);
    return true;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer): void => {
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        log(tail);
        reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}… exited with ${code}:\n${tail}`));
      }
    });
  });
}

const LOCK_STALE_MS = 20 * 60_000;

/** A mkdir lock next to the machine's temp dir; a lock older than the longest build is stale. */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `${name}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let stale = false;
      try {
        stale = Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS;
        const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
        if (pid > 0) process.kill(pid, 0);
      } catch {
        stale = stale || true;
      }
      if (stale) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Make sure the test host image exists and return its tag. Builds it (debootstrap + docker
 * import, ~1 min) only when missing; concurrent callers wait on the lock and then find it.
 */
export async function ensureTestHostImage(log: (line: string) => void = () => {}): Promise<string> {
  const tag = imageTag();
  if (await imageExists(tag)) return tag;
  return withLock(`gastown-test-host-${tag.split(':')[1]}`, async () => {
    if (await imageExists(tag)) return tag;
    const root = mkdtempSync(join(tmpdir(), 'gt-host-root-'));
    try {
      log(`building ${tag}: debootstrap ${SUITE} into ${root}`);
      await run(
        'debootstrap',
        ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, root, debianMirror()],
        log,
      );
      for (const argv of SETUP) await run('chroot', [root, ...argv], log);
      rmSync(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
      mkdirSync(join(root, 'var/cache/apt/archives/partial'), { recursive: true });
      log(`importing ${tag}`);
      await new Promise<void>((resolve, reject) => {
        const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
        const imp = spawn('docker', ['import', '-c', `CMD ${CMD}`, '-', tag], {
          stdio: ['pipe', 'ignore', 'pipe'],
        });
        let err = '';
        imp.stderr.on('data', (b: Buffer) => (err += b.toString()));
        tar.stdout.pipe(imp.stdin);
        tar.on('error', reject);
        imp.on('error', reject);
        imp.on('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`docker import exited ${code}: ${err}`)),
        );
      });
      return tag;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
