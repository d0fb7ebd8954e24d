// A git server for fleet tests: one container from the test-host image on the same Docker
// network as the test hosts (testcontainers' default bridge; test/hosts/containers.ts starts
// them there too), serving bare repositories over ssh to a `git` user whose login shell is
// git-shell and whose authorized_keys holds a deploy key generated for the test. Its host key is
// generated here too, so the known_hosts line is known before first contact. The server is
// reached by its container address: from the test hosts (same bridge) and from this machine
// (the Docker host routes to the bridge), so one URL serves both. Keys live in `keyDir` (0700,
// the caller's), never in /tmp directly.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { StartedTestContainer } from 'testcontainers';
import { ensureTestHostImage } from './image.js';

const execFileP = promisify(execFile);

/** Where the bare repository lives on the server. */
export const REPO_PATH = '/srv/git/app.git';

// A fixed script (no test text in it): the git user, its key, the bare repo with a first commit
// (a README and a test gate script) on main, everything owned by git.
const SETUP = `set -e
useradd --create-home --home-dir /home/git --shell /usr/bin/git-shell git
mkdir -p /home/git/.ssh
mv /etc/ssh/gt_deploy_key.pub /home/git/.ssh/authorized_keys
chmod 700 /home/git/.ssh && chmod 600 /home/git/.ssh/authorized_keys
chown -R git:git /home/git/.ssh
mkdir -p /srv/git /srv/seed
git init -q --bare -b main ${REPO_PATH}
cd /srv/seed && git init -q -b main
printf '# app\\n' > README.md
printf '#!/bin/sh\\nexit 0\\n' > test.sh && chmod +x test.sh
git add README.md test.sh
git -c user.name=seed -c user.email=seed@test commit -q -m first
git push -q ${REPO_PATH} HEAD:main
rm -rf /srv/seed
chown -R git:git /srv/git`;

export interface GitServer {
  container: StartedTestContainer;
  /** The server's address on the Docker bridge (reachable from test hosts and this machine). */
  ip: string;
  /** The repository's URL as the test hosts see it: ssh://git@<ip>/srv/git/app.git. */
  hostUrl: string;
  /** The same repository's URL as this machine sees it (the bridge address works here too). */
  localUrl: string;
  /** known_hosts line for `hostUrl` (what the test hosts must trust). */
  hostKnownHostsLine: string;
  /** known_hosts line for `localUrl`. */
  localKnownHostsLine: string;
  /** The deploy key (private, 0600) that may read and push as `git`. */
  deployKey: string;
  /** A second key that the server does not know (for refusal tests), 0600. */
  strangerKey: string;
  /** The server's host key blob type and base64, e.g. "ssh-ed25519 AAAA…". */
  hostKey: string;
  /** Run a command in the container as root (docker exec, not ssh). */
  run(argv: string[]): Promise<{ exitCode: number; output: string }>;
  /** `git <args>` in the bare repository, as root; rejects on failure. */
  git(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface GitServerOptions {
  /** Container name prefix (made unique with the pid and time). */
  name?: string;
}

async function keygen(file: string, comment: string): Promise<string> {
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  chmodSync(file, 0o600);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** Start the git server; stop it with `stop()` in afterAll. */
export async function startGitServer(
  keyDir: string,
  opts: GitServerOptions = {},
): Promise<GitServer> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const image = await ensureTestHostImage();
  const { GenericContainer } = await import('testcontainers');
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  chmodSync(keyDir, 0o700);
  const deployKey = join(keyDir, 'git_deploy_key');
  const strangerKey = join(keyDir, 'git_stranger_key');
  const hostKeyFile = join(keyDir, 'git_host_key');
  const [deployPub, , hostPub] = await Promise.all([
    keygen(deployKey, 'gt-test-deploy'),
    keygen(strangerKey, 'gt-test-stranger'),
    keygen(hostKeyFile, 'gt-test-git-host'),
  ]);
  const container = await new GenericContainer(image)
    .withName(`gt-test-${opts.name ?? 'git'}-${process.pid}-${Date.now().toString(36)}`)
    .withExposedPorts(22)
    .withCopyContentToContainer([
      { content: `${deployPub}\n`, target: '/etc/ssh/gt_deploy_key.pub', mode: 0o644 },
      { content: readFileSync(hostKeyFile), target: '/etc/ssh/gt_host_key', mode: 0o600 },
    ])
    .withCommand(['/usr/sbin/sshd', '-D', '-e', '-o', 'HostKey=/etc/ssh/gt_host_key'])
    .withStartupTimeout(60_000)
    .start();
  const run = async (argv: string[]): Promise<{ exitCode: number; output: string }> => {
    const r = await container.exec(argv);
    return { exitCode: r.exitCode, output: r.output };
  };
  try {
    const setup = await run(['sh', '-c', SETUP]);
    if (setup.exitCode !== 0) throw new Error(`git server setup failed: ${setup.output}`);
    const ip = container.getIpAddress(container.getNetworkNames()[0] ?? 'bridge');
    const hostKey = hostPub.split(' ').slice(0, 2).join(' ');
    const url = `ssh://git@${ip}${REPO_PATH}`;
    const line = `${ip} ${hostKey}`;
    return {
      container,
      ip,
      hostUrl: url,
      localUrl: url,
      hostKnownHostsLine: line,
      localKnownHostsLine: line,
      deployKey,
      strangerKey,
      hostKey,
      run,
      git: async (args) => {
        const r = await run(['git', '-c', 'safe.directory=*', '-C', REPO_PATH, ...args]);
        if (r.exitCode !== 0)
          throw new Error(`git ${args.join(' ')} on the git server: ${r.output}`);
        return r.output.trim();
      },
      stop: async () => {
        await container.stop({ timeout: 1000 });
      },
    };
  } catch (err) {
    await container.stop({ timeout: 1000 }).catch(() => undefined);
    throw err;
  }
}
