// The town's git identity against a real git server (test/hosts/git-server.ts: key-authenticated
// git over ssh, git-shell, its own host key) and a bare Debian host provisioned from nothing,
// both containers started in parallel: the identity set before the host is added reaches it by
// provisioning; `gt rig add … --machine w1` clones the server's repository on w1 with it (w1 has
// no ssh key of its own); a commit pushed by plain git from a clone on w1 lands on the server,
// and so does a polecat's own push from its session there, which the refinery on w1 merges and
// pushes to the server's main;
// CheckOrigin from w1 says reachable and pushable, and with a key the server does not know, with
// no identity, with a host key that does not match, or with a path w1 lacks, says why and the
// fix; an unreachable machine is named by `gt git-identity set` with the fix, and
// `gt machine provision` brings the identity there.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFederation } from '../../coordinator/federation.js';
import { MachineRegistry } from '../../coordinator/machines.js';
import { checkOriginOn, requireOriginOn } from '../../coordinator/origin.js';
import { sshConnectionFactory } from '../../coordinator/ssh/machine.js';
import { bd, gt, gtJson } from '../helpers/cli.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { docker, startTestHosts, type TestHost, type TestHosts } from '../hosts/containers.js';
import { REPO_PATH, startGitServer, type GitServer } from '../hosts/git-server.js';

const TOWN_PATH = '/srv/gastown';
let base = '';
let town: string;
let env: NodeJS.ProcessEnv;
let fleet: TestHosts | undefined;
let server: GitServer | undefined;
let w1: TestHost;
let goodHosts: string;

async function on(h: { run: TestHost['run'] }, argv: string[]): Promise<string> {
  const r = await h.run(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.output}`);
  return r.output.trim();
}

/** CheckOrigin asked of w1's node agent through its SSH connection, as the coordinator asks. */
async function checkOnW1(url: string) {
  const registry = await w1Registry();
  try {
    return await checkOriginOn(registry, 'w1', url);
  } finally {
    await registry.close();
  }
}

async function w1Registry(): Promise<MachineRegistry> {
  const fed = await readFederation(town);
  const m = fed.machines.w1;
  if (m?.type !== 'ssh') throw new Error('w1 is not an ssh machine');
  return new MachineRegistry({
    machines: { w1: m },
    factories: { ssh: sshConnectionFactory({ townRoot: town, userKnownHosts: null }) },
  });
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  base = tempDirUnmanaged('gt-gid-');
  town = join(base, 'town');
  mkdirSync(join(base, 'home'), { recursive: true });
  env = { GT_TOWN: town, HOME: join(base, 'home'), SSH_AUTH_SOCK: '' };
  const [installed, hosts, git] = await Promise.all([
    gt(['install', town]),
    startTestHosts(['w1'], join(base, 'keys')),
    startGitServer(join(base, 'git-keys')),
  ]);
  fleet = hosts;
  server = git;
  expect(installed.code).toBe(0);
  [w1] = hosts.hosts as [TestHost];
  goodHosts = join(base, 'git-keys', 'origin_known_hosts');
  writeFileSync(goodHosts, `${git.hostKnownHostsLine}\n`);

  // The identity first, then the machine: provisioning brings it there.
  const set = await gt(['git-identity', 'set', git.deployKey, '--known-hosts', goodHosts], { env });
  expect({ code: set.code, stderr: set.stderr }).toEqual({ code: 0, stderr: '' });
  expect(set.stdout).toMatch(/git identity set: ssh-ed25519 SHA256:\S+; trusted hosts: 1/);
  const add = await gt(
    [
      ...['machine', 'add', 'w1', '--ssh', `root@${w1.host}:${w1.port}`],
      ...['--identity', hosts.clientKey, '--accept-host-key', '--town-path', TOWN_PATH],
    ],
    { env, timeoutMs: 300_000 },
  );
  expect({ code: add.code, stderr: add.stderr }).toMatchObject({ code: 0 });
}, 400_000);

afterAll(async () => {
  await Promise.allSettled([fleet?.stop(), server?.stop()]);
  // The town and the keys made for the test go with it.
  if (base !== '') rmSync(base, { recursive: true, force: true });
});

describe("the town's git identity on a provisioned host and a git server", () => {
  it('refuses a key others can read, a public key, a bad known_hosts file (exit 2, with the fix)', async () => {
    const loose = join(base, 'git-keys', 'loose_key');
    copyFileSync(server!.deployKey, loose);
    chmodSync(loose, 0o644);
    const r1 = await gt(['git-identity', 'set', loose, '--known-hosts', goodHosts], { env });
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/can be read by others \(mode 0644\)/);
    expect(r1.stderr).toContain(`hint: run \`chmod 600 ${loose}\``);
    const pub = `${server!.deployKey}.pub`;
    chmodSync(pub, 0o600);
    const r2 = await gt(['git-identity', 'set', pub, '--known-hosts', goodHosts], { env });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/not a usable private key/);
    const bad = join(base, 'git-keys', 'bad_known_hosts');
    writeFileSync(bad, 'just-a-host\n');
    const r3 = await gt(['git-identity', 'set', server!.deployKey, '--known-hosts', bad], { env });
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/bad_known_hosts:1 is not a known_hosts line/);
    const r4 = await gt(['git-identity', 'set', server!.deployKey], { env });
    expect(r4.code).toBe(2);
    // None of it replaced the identity in place.
    const shown = await gtJson<{ fingerprint: string }>(['git-identity', 'show', '--json'], {
      env,
    });
    const set = await gtJson<{ fingerprint: string }>(
      ['git-identity', 'set', server!.deployKey, '--known-hosts', goodHosts, '--json'],
      { env },
    );
    expect(shown.fingerprint).toBe(set.fingerprint);
  });

  it('the git server answers this machine too, at its container address, with the deploy key only', async () => {
    const kh = join(base, 'git-keys', 'local_known_hosts');
    writeFileSync(kh, `${server!.localKnownHostsLine}\n`);
    const ssh = (key: string) =>
      `ssh -i ${key} -o IdentitiesOnly=yes -o UserKnownHostsFile=${kh} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
    const lsRemote = (key: string) =>
      spawnSync('git', ['-c', `core.sshCommand=${ssh(key)}`, 'ls-remote', server!.localUrl], {
        encoding: 'utf8',
        env: { ...process.env, HOME: join(base, 'home'), SSH_AUTH_SOCK: '' },
      });
    const ok = lsRemote(server!.deployKey);
    expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: '' });
    expect(ok.stdout).toMatch(/^[0-9a-f]{40}\trefs\/heads\/main$/m);
    const refused = lsRemote(server!.strangerKey);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it('provisioning put the identity on w1 (0600, same bytes); rig add clones from the git server there with it; a push from w1 lands', async () => {
    const key = `${TOWN_PATH}/config/git/identity`;
    expect(await on(w1, ['stat', '-c', '%a', key])).toBe('600');
    expect(await on(w1, ['stat', '-c', '%a', `${TOWN_PATH}/config/git`])).toBe('700');
    expect((await on(w1, ['sha256sum', key])).slice(0, 64)).toBe(
      sha256(readFileSync(server!.deployKey)),
    );
    // w1 has no key of its own: only the town's identity can log in to the server.
    expect((await w1.run(['ls', '/root/.ssh/id_ed25519'])).exitCode).not.toBe(0);

    const rig = await gtJson<{ name: string; machine: string; git_url: string }>(
      ['rig', 'add', 'app', server!.hostUrl, '--machine', 'w1', '--json'],
      { env, timeoutMs: 120_000 },
    );
    expect(rig).toMatchObject({ name: 'app', machine: 'w1', git_url: server!.hostUrl });
    expect(server!.hostUrl).toBe(`ssh://git@${server!.ip}${REPO_PATH}`);
    const mayorClone = `${TOWN_PATH}/app/mayor/rig`;
    const sshCommand = await on(w1, ['git', '-C', mayorClone, 'config', 'core.sshCommand']);
    expect(sshCommand).toBe(
      `ssh -i ${key} -o IdentitiesOnly=yes -o UserKnownHostsFile=${TOWN_PATH}/config/git/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes`,
    );
    expect(await on(w1, ['cat', `${TOWN_PATH}/app/refinery/rig/test.sh`])).toContain('exit 0');

    // Plain git in a clone on w1, as an agent in its session would push.
    const git = ['git', '-C', mayorClone, '-c', 'user.name=w1', '-c', 'user.email=w1@test'];
    await on(w1, [...git, 'commit', '-q', '--allow-empty', '-m', 'from w1']);
    await on(w1, [...git, 'push', '-q', 'origin', 'HEAD:refs/heads/from-w1']);
    const head = await on(w1, ['git', '-C', mayorClone, 'rev-parse', 'HEAD']);
    expect(await server!.git(['rev-parse', 'refs/heads/from-w1'])).toBe(head);
    expect(await server!.git(['log', '-1', '--format=%s', 'from-w1'])).toBe('from w1');
  });

  it('CheckOrigin from w1: reachable and pushable with the identity; nothing is pushed by the probe', async () => {
    const before = await server!.git(['for-each-ref', '--format=%(refname)']);
    const check = await checkOnW1(server!.hostUrl);
    expect(check).toMatchObject({ reachable: true, pushable: true, hint: '' });
    expect(check.detail).toBe(
      `w1 reaches ${server!.hostUrl} and may push to it (with the town's git identity)`,
    );
    expect(await server!.git(['for-each-ref', '--format=%(refname)'])).toBe(before);
    // A path origin w1 does not have.
    const path = await checkOnW1('/srv/repos/elsewhere.git');
    expect(path).toMatchObject({ reachable: false, pushable: false });
    expect(path.detail).toMatch(/^w1 has no \/srv\/repos\/elsewhere\.git/);
    expect(path.hint).toMatch(
      /a path only its home machine has: give the rig an ssh:\/\/ or https:\/\//,
    );
  });

  it("a polecat's own git push in its session on w1 uses the identity; the refinery there merges and pushes main to the server", async () => {
    const created = await bd(['--rig', 'app', 'create', 'Polecat work', '-p', '1', '--json'], {
      env,
    });
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    const issue = (JSON.parse(created.stdout) as { id: string }).id;
    // A scripted agent: ready, then on its prompt it commits, pushes its branch and says done.
    const script = [
      'echo "pusher ready> "',
      'read prompt',
      'git -c user.name=polecat -c user.email=polecat@test commit -q --allow-empty -m "polecat work"',
      'git push -q -u origin HEAD && gt done',
      'exec cat',
    ].join('; ');
    await w1.container.copyContentToContainer([
      {
        content: JSON.stringify({
          presets: { pusher: { command: ['sh', '-c', script], ready_pattern: '^pusher ready> ' } },
        }),
        target: `${TOWN_PATH}/config/agents.json`,
      },
    ]);
    const spawned = await gtJson<{ polecat: string; branch: string; clone: string }>(
      ['spawn', 'app', '--issue', issue, '--agent', 'pusher', '--json'],
      { env, timeoutMs: 120_000 },
    );
    expect(await on(w1, ['git', '-C', spawned.clone, 'config', 'core.sshCommand'])).toContain(
      `-i ${TOWN_PATH}/config/git/identity`,
    );
    const deadline = Date.now() + 60_000;
    let listed = '';
    while (!listed.includes(issue)) {
      if (Date.now() > deadline) throw new Error(`no merge queue entry for ${issue}: ${listed}`);
      await new Promise((r) => setTimeout(r, 500));
      listed = (await gt(['mq', 'list', 'app'], { env })).stdout;
    }
    expect(await server!.git(['log', '-1', '--format=%s', spawned.branch])).toBe('polecat work');
    // w1 has no git identity of its own: the refinery's merge commit names app/refinery.
    const merged = await gt(['refinery', 'process', 'app'], { env, timeoutMs: 120_000 });
    expect({ code: merged.code, stderr: merged.stderr }).toEqual({ code: 0, stderr: '' });
    expect(merged.stdout).toMatch(new RegExp(`^app/${issue}: merged`, 'm'));
    expect(await server!.git(['log', '--format=%s', 'main'])).toContain('polecat work');
    expect(await server!.git(['log', '-1', '--format=%cn', 'main'])).toBe('app/refinery');
    await gt(['kill', `app/${spawned.polecat}`], { env });
  });

  it('a key the server does not know, or none: not reachable, and the hint names gt git-identity set', async () => {
    const wrong = await gt(
      ['git-identity', 'set', server!.strangerKey, '--known-hosts', goodHosts],
      { env },
    );
    expect(wrong.code).toBe(0);
    expect(wrong.stdout).toMatch(/^ {2}w1: copied$/m);
    expect(wrong.stdout).toMatch(/^ {2}local: in place$/m);
    const refused = await checkOnW1(server!.hostUrl);
    expect(refused).toMatchObject({ reachable: false, pushable: false });
    expect(refused.detail).toMatch(
      new RegExp(`^w1 cannot reach ${server!.hostUrl}: .*Permission denied`),
    );
    expect(refused.hint).toMatch(
      /refuses the town's git identity.*`gt git-identity set KEY --known-hosts FILE`/,
    );
    // What spawn will throw: the same detail and hint as GT_ORIGIN_UNREACHABLE.
    const registry = await w1Registry();
    try {
      await expect(requireOriginOn(registry, 'w1', server!.hostUrl)).rejects.toMatchObject({
        code: 'GT_ORIGIN_UNREACHABLE',
        message: refused.detail,
        hint: refused.hint,
      });
    } finally {
      await registry.close();
    }

    const removed = await gt(['git-identity', 'remove'], { env });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^ {2}w1: removed$/m);
    expect((await w1.run(['test', '-e', `${TOWN_PATH}/config/git/identity`])).exitCode).not.toBe(0);
    const none = await checkOnW1(server!.hostUrl);
    expect(none.reachable).toBe(false);
    expect(none.hint).toMatch(/host key|set the town's git identity with `gt git-identity set/);
    expect((await gt(['git-identity', 'show'], { env })).stdout).toMatch(/^no git identity/);
  });

  it('a host key that does not match the server is refused, by CheckOrigin and by git in the clones', async () => {
    const forged = join(base, 'git-keys', 'forged_known_hosts');
    // The server's address with another machine's key (w1's host key).
    writeFileSync(forged, `${server!.ip} ${w1.knownHostsLine.split(' ').slice(1).join(' ')}\n`);
    expect(
      (await gt(['git-identity', 'set', server!.deployKey, '--known-hosts', forged], { env })).code,
    ).toBe(0);
    const check = await checkOnW1(server!.hostUrl);
    expect(check).toMatchObject({ reachable: false, pushable: false });
    expect(check.detail).toMatch(
      /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/,
    );
    expect(check.hint).toMatch(/^w1 does not trust the origin's ssh host key/);
    const fetch = await w1.run(['git', '-C', `${TOWN_PATH}/app/refinery/rig`, 'fetch', 'origin']);
    expect(fetch.exitCode).not.toBe(0);
    expect(fetch.output).toMatch(/Host key verification failed/);
  });

  it('an unreachable machine is named with the fix; gt machine provision brings the identity there', async () => {
    await docker(['pause', w1.container.getId()]);
    let set;
    try {
      set = await gt(['git-identity', 'set', server!.deployKey, '--known-hosts', goodHosts], {
        env,
        timeoutMs: 120_000,
      });
    } finally {
      await docker(['unpause', w1.container.getId()]);
    }
    expect(set.code).toBe(1);
    expect(set.stdout).toMatch(/^ {2}w1: not updated: /m);
    expect(set.stdout).toContain('hint: run `gt machine provision w1` when it answers');
    // w1 still holds the forged known_hosts: its check fails until provisioning copies the set.
    expect((await checkOnW1(server!.hostUrl)).reachable).toBe(false);
    const prov = await gt(['machine', 'provision', 'w1'], { env, timeoutMs: 300_000 });
    expect({ code: prov.code, stderr: prov.stderr }).toMatchObject({ code: 0 });
    expect(await checkOnW1(server!.hostUrl)).toMatchObject({ reachable: true, pushable: true });
    expect(await on(w1, ['cat', `${TOWN_PATH}/config/git/known_hosts`])).toBe(
      server!.hostKnownHostsLine,
    );
  });
});
