// gt machine add / provision against bare Debian containers (no Node.js): bad input refused with
// exit 2 and nothing written; first contact needs --accept-host-key; a changed host key is
// refused with both fingerprints; add + provision installs and starts the agent, the handshake
// works, a re-run changes nothing, and gt rigs / gt status answer with the machine in the fleet.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../coordinator/ssh/known-hosts.js';
import { GT, gt } from '../helpers/cli.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { startTestHosts, type TestHost, type TestHosts } from '../hosts/containers.js';

let base: string;
let town: string;
let fleet: TestHosts;
let h1: TestHost;
let h2: TestHost;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  base = tempDirUnmanaged('gt-ma-');
  town = join(base, 'town');
  expect((await gt(['install', town])).code).toBe(0);
  fleet = await startTestHosts(['h1', 'h2'], join(town, 'run', 'test-keys'));
  [h1, h2] = fleet.hosts as [TestHost, TestHost];
  mkdirSync(join(base, 'home'), { recursive: true });
  // An empty HOME: the user's own ~/.ssh is never read or written by the test.
  env = { GT_TOWN: town, HOME: join(base, 'home'), SSH_AUTH_SOCK: '' };
});
afterAll(async () => {
  await fleet?.stop();
});

const fed = (): string => join(town, 'config', 'federation.json');
const readFed = (): string => (existsSync(fed()) ? readFileSync(fed(), 'utf8') : '<none>');

describe('gt machine add', () => {
  it('refuses bad input with exit 2 and the fix, writing nothing', async () => {
    const before = readFed();
    const addr = `root@${h1.host}:${h1.port}`;
    const cases: Array<[string[], RegExp]> = [
      [['bad..name', '--ssh', addr], /invalid machine name/],
      [['has space', '--ssh', addr], /invalid machine name/],
      [['ünï', '--ssh', addr], /invalid machine name/],
      [['ok', '--ssh', 'root@host:99999'], /malformed ssh address/],
      [['ok', '--ssh', 'no-user-host'], /malformed ssh address/],
      [['ok', '--ssh', 'root@host;rm -rf /'], /malformed ssh address/],
      [['ok', '--ssh', addr, '--identity', join(base, 'nope')], /does not exist/],
      [['ok', '--ssh', addr, '--identity', `${fleet.clientKey}.pub`], /not a usable private key/],
      [['ok', '--ssh', addr, '--town-path', 'relative/path'], /must be an absolute path/],
      [['ok', '--ssh', addr, '--max-polecats', 'lots'], /positive whole number/],
      [['ok', '--ssh', addr, '--label', 'no-equals'], /invalid label/],
    ];
    for (const [args, message] of cases) {
      const r = await gt(['machine', 'add', ...args], { env });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/\nhint: /);
    }
    expect(readFed()).toBe(before);
  });

  it('needs --accept-host-key on first contact, and refuses a changed key with both fingerprints', async () => {
    const before = readFed();
    const add = [
      'machine',
      'add',
      'h2',
      '--ssh',
      `root@${h2.host}:${h2.port}`,
      '--identity',
      fleet.clientKey,
    ];
    const unknown = await gt(add, { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('is not known yet');
    expect(unknown.stderr).toContain(fingerprint(h2.hostKeyBlob));
    expect(unknown.stderr).toContain('--accept-host-key');
    expect(readFed()).toBe(before);

    // The town believes h2's address has h1's key (as if h2 had been reinstalled).
    const knownHosts = join(town, 'config', 'known_hosts');
    writeFileSync(
      knownHosts,
      `[${h2.host}]:${h2.port} ${h1.knownHostsLine.split(' ').slice(1).join(' ')}\n`,
    );
    const changed = await gt([...add, '--accept-host-key'], { env });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('has changed');
    expect(changed.stderr).toContain(fingerprint(h1.hostKeyBlob));
    expect(changed.stderr).toContain(fingerprint(h2.hostKeyBlob));
    expect(changed.stderr).toContain(`ssh-keygen -R '[${h2.host}]:${h2.port}' -f ${knownHosts}`);
    expect(readFed()).toBe(before);
    writeFileSync(knownHosts, '');
  });

  it('on a terminal an unknown host key is a question: no refuses, yes records that key', async () => {
    const before = readFed();
    const knownHosts = join(town, 'config', 'known_hosts');
    const command = [
      process.execPath,
      GT,
      'machine',
      'add',
      'h2',
      '--ssh',
      `root@${h2.host}:${h2.port}`,
      '--identity',
      fleet.clientKey,
      '--no-provision',
    ].join(' ');
    const answer = async (reply: string): Promise<{ code: number | null; out: string }> => {
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        env: { ...process.env, ...env, TERM: 'xterm' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      const deadline = Date.now() + 30_000;
      while (!out.includes('[y/N]') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain(`Accept this host key (${fingerprint(h2.hostKeyBlob)})`);
      child.stdin.write(`${reply}\r`);
      return { code: await exited, out };
    };
    const no = await answer('n');
    expect(no.code).toBe(1);
    expect(readFed()).toBe(before);
    expect(existsSync(knownHosts) ? readFileSync(knownHosts, 'utf8') : '').not.toContain(
      `${h2.port}`,
    );
    const yes = await answer('y');
    expect({ code: yes.code, out: yes.out }).toMatchObject({ code: 0 });
    expect(readFileSync(knownHosts, 'utf8')).toContain(`[${h2.host}]:${h2.port} `);
    expect(JSON.parse(readFed())).toMatchObject({ machines: { h2: { type: 'ssh' } } });
    // Not part of the fleet the next test builds.
    expect((await gt(['machine', 'remove', 'h2', '--force'], { env })).code).toBe(0);
    writeFileSync(knownHosts, '');
  });

  it('adds and provisions a bare host; the agent answers; a re-run changes nothing; gt rigs and gt status answer', async () => {
    const add = await gt(
      [
        'machine',
        'add',
        'h1',
        '--ssh',
        `root@${h1.host}:${h1.port}`,
        '--identity',
        fleet.clientKey,
        '--accept-host-key',
        '--town-path',
        '/srv/gastown',
        '--max-polecats',
        '3',
        '--label',
        'zone=test',
        '--json',
      ],
      { env, timeoutMs: 300_000 },
    );
    expect({ code: add.code, stderr: add.stderr, stdout: add.stdout }).toMatchObject({
      code: 0,
      stderr: '',
    });
    const result = JSON.parse(add.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      name: 'h1',
      provisioned: true,
      changed: true,
      transport: 'stream-local',
      supervisor: 'restart-loop',
    });
    expect(result.agent_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(JSON.parse(readFed())).toMatchObject({
      machines: {
        h1: {
          type: 'ssh',
          host: h1.host,
          port: h1.port,
          user: 'root',
          town_path: '/srv/gastown',
          max_polecats: 3,
          labels: ['zone=test'],
        },
      },
    });
    const ps = await h1.run([
      'sh',
      '-c',
      'cat /srv/gastown/run/node-agent.pid; ls /srv/gastown/.gt/versions; stat -c %a /srv/gastown/run/node-agent.sock',
    ]);
    expect(ps.output).toMatch(/^\d+\n\d+\.\d+\.\d+-[0-9a-f]{10}\n600\n$/);

    const again = await gt(['machine', 'provision', 'h1', '--json'], { env, timeoutMs: 120_000 });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      changed: false,
      uploaded_bytes: 0,
      version: result.version,
    });
    const plain = await gt(['machine', 'provision', 'h1'], { env, timeoutMs: 120_000 });
    expect(plain.stdout).toContain('nothing changed');

    const dup = await gt(['machine', 'add', 'h1', '--ssh', `root@${h1.host}:${h1.port}`], { env });
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('already in config/federation.json');

    // The machine's own town was installed there by its agent.
    const installed = await h1.run(['ls', '/srv/gastown/config']);
    expect(installed.output).toContain('rigs.json');
    const rigs = await gt(['rigs', '--json'], { env, timeoutMs: 120_000 });
    expect({ code: rigs.code, stderr: rigs.stderr }).toEqual({ code: 0, stderr: '' });
    const status = await gt(['status', '--json'], { env, timeoutMs: 120_000 });
    expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: '' });
    expect(status.stdout).toContain('"h1"');

    // kill -9 the agent: the supervisor starts a new one, and the fleet answers again.
    const pidOf = async (): Promise<string> =>
      (await h1.run(['cat', '/srv/gastown/run/node-agent.pid'])).output.trim();
    const before = await pidOf();
    expect((await h1.run(['kill', '-9', before])).exitCode).toBe(0);
    const deadline = Date.now() + 60_000;
    let after = before;
    while (Date.now() < deadline) {
      after = await pidOf();
      if (/^\d+$/.test(after) && after !== before) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(after).not.toBe(before);
    expect(after).toMatch(/^\d+$/);
    const recovered = await gt(['machine', 'provision', 'h1', '--json'], {
      env,
      timeoutMs: 120_000,
    });
    expect(JSON.parse(recovered.stdout)).toMatchObject({ changed: false });
  });
});
