// gt machine upgrade against bare Debian containers: an agent of a previous version (built here
// with a lower version and protocol) is accepted and shown as "upgrade available", then upgraded;
// a new version that exits at start, or whose checksums do not match, is switched back and the
// old agent still answers; --all names each machine that failed; a provisioning or upgrade
// killed half-way (SIGKILL during the upload) leaves the previous state running, and the re-run
// breaks the stale lock and ends healthy.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteCommand } from '../../coordinator/ssh/quote.js';
import { PROTOCOL_VERSION } from '../../proto/index.js';
import { GT, REPO_ROOT, gt, type RunResult } from '../helpers/cli.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { startTestHosts, type TestHost, type TestHosts } from '../hosts/containers.js';

let base: string;
let town: string;
let fleet: TestHosts;
let h1: TestHost;
let h2: TestHost;
let env: NodeJS.ProcessEnv;
const bundles: Record<'old' | 'exits' | 'mismatch' | 'padded', string> = {
  old: '',
  exits: '',
  mismatch: '',
  padded: '',
};
const TOWN = '/srv/gastown';
const ESC = '\u001b';
const CURRENT = join(REPO_ROOT, 'dist', 'agent-bundle');

interface Manifest {
  version: string;
  hash: string;
  files: Array<{ path: string; size: number; sha256: string }>;
}

/** An agent bundle built from this checkout with another version / protocol number. */
function buildBundle(dir: string, version: string, protocol: number): string {
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'deploy', 'agent-bundle.mjs'),
      `--out=${dir}`,
      `--version=${version}`,
      `--protocol=${protocol}`,
    ],
    { stdio: 'pipe' },
  );
  return dir;
}

/** A copy of this checkout's bundle, changed by `edit` (manifest written back). */
function variant(dir: string, edit: (m: Manifest, dir: string) => void): string {
  cpSync(CURRENT, dir, { recursive: true });
  const file = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  edit(m, dir);
  writeFileSync(file, JSON.stringify(m, null, 2));
  return dir;
}

function setFile(m: Manifest, dir: string, path: string, data: Buffer): void {
  writeFileSync(join(dir, path), data);
  const entry = {
    path,
    size: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
  };
  m.files = [...m.files.filter((f) => f.path !== path), entry];
  m.hash = createHash('sha256').update(JSON.stringify(m.files)).digest('hex').slice(0, 12);
}

beforeAll(async () => {
  base = tempDirUnmanaged('gt-mu-');
  town = join(base, 'town');
  expect((await gt(['install', town])).code).toBe(0);
  const hosts = startTestHosts(['h1', 'h2'], join(town, 'run', 'test-keys'));
  const b = join(base, 'bundles');
  mkdirSync(b);
  bundles.old = buildBundle(join(b, 'old'), '0.0.1', PROTOCOL_VERSION - 1);
  bundles.exits = variant(join(b, 'exits'), (m, dir) =>
    setFile(
      m,
      dir,
      'agent.mjs',
      Buffer.from("process.stderr.write('agent: cannot start here\\n'); process.exit(3);\n"),
    ),
  );
  bundles.mismatch = variant(join(b, 'mismatch'), (m) => {
    const agent = m.files.find((f) => f.path === 'agent.mjs')!;
    agent.sha256 = '0'.repeat(64);
    m.hash = 'badbadbadbad';
  });
  // Bigger than the real one, so that the upload lasts long enough to be killed half-way.
  bundles.padded = variant(join(b, 'padded'), (m, dir) =>
    setFile(m, dir, 'padding.bin', Buffer.alloc(400 * 1024 * 1024, 7)),
  );
  fleet = await hosts;
  [h1, h2] = fleet.hosts as [TestHost, TestHost];
  mkdirSync(join(base, 'home'), { recursive: true });
  env = { GT_TOWN: town, HOME: join(base, 'home'), SSH_AUTH_SOCK: '' };
});
afterAll(async () => {
  await fleet?.stop();
});

const run = (args: string[], bundle?: string, timeoutMs = 300_000): Promise<RunResult> =>
  gt(args, { env: { ...env, GT_AGENT_BUNDLE: bundle ?? '' }, timeoutMs });

async function list(): Promise<Record<string, Record<string, unknown>>> {
  const r = await run(['machine', 'list', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const machines = (JSON.parse(r.stdout) as { machines: Array<Record<string, unknown>> }).machines;
  return Object.fromEntries(machines.map((m) => [m['name'] as string, m]));
}

const sh = async (h: TestHost, script: string): Promise<string> =>
  (await h.run(['sh', '-c', script])).output.trim();
const current = (h: TestHost): Promise<string> =>
  sh(h, `basename "$(readlink ${TOWN}/.gt/current)"`);
const agentPid = (h: TestHost): Promise<string> => sh(h, `cat ${TOWN}/run/node-agent.pid`);

function add(h: TestHost, extra: string[] = []): string[] {
  return [
    'machine',
    'add',
    h.name,
    '--ssh',
    `root@${h.host}:${h.port}`,
    '--identity',
    fleet.clientKey,
    '--accept-host-key',
    '--town-path',
    TOWN,
    ...extra,
  ];
}

/** Start gt with piped output; SIGKILL it once `killWhen` holds on the host during the upload. */
async function killDuringUpload(args: string[], bundle: string, h: TestHost): Promise<string> {
  const child = spawn(process.execPath, [GT, ...args], {
    env: { ...process.env, ...env, GT_AGENT_BUNDLE: bundle, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (!stderr.includes('upload:') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  // The partial version dir has started to fill.
  while (Date.now() < deadline) {
    const size = await sh(h, `du -sk ${TOWN}/.gt/versions/*.partial 2>/dev/null | cut -f1`);
    if (Number(size) > 1024) break;
  }
  child.kill('SIGKILL');
  await exited;
  // sshd notices the dead connection; the lock's holder goes with it.
  while (Date.now() < deadline) {
    const alive = await sh(h, `kill -0 "$(cat ${TOWN}/.gt/provision.lock/pid)" && echo alive`);
    if (alive !== 'alive') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return stderr;
}

describe('gt machine upgrade', () => {
  it('accepts an agent one version behind as "upgrade available", then upgrades it', async () => {
    const added = await run([...add(h1), '--json'], bundles.old);
    expect(added.code, added.stderr).toBe(0);
    const old = JSON.parse(added.stdout) as Record<string, string>;
    expect(old).toMatchObject({ agent_version: '0.0.1', changed: true });
    expect(old.version).toMatch(/^0\.0\.1-/);
    expect((await list())['h1']).toMatchObject({
      state: 'connected',
      agent_version: '0.0.1',
      protocol_version: PROTOCOL_VERSION - 1,
      upgrade_available: true,
    });
    const table = await run(['machine', 'list']);
    expect(table.stdout).toMatch(/^h1 .*connected \(upgrade available\) +0\.0\.1/m);
    const status = await run(['machine', 'status', 'h1']);
    expect(status.stdout).toMatch(/state: connected \(upgrade available\)/);

    const up = await run(['machine', 'upgrade', 'h1']);
    expect({ code: up.code, stderr: up.stderr }).toMatchObject({ code: 0 });
    expect(up.stdout).toMatch(
      new RegExp(
        `^h1: upgraded ${old.version} -> 0\\.1\\.0-[0-9a-f]+; node agent 0\\.1\\.0 running$`,
        'm',
      ),
    );
    // Piped: the steps as plain lines, no cursor controls.
    expect(up.stderr).toMatch(/^ {2}upload: \d+ files, \d+ bytes$/m);
    expect(up.stderr).toMatch(/^ {2}handshake$/m);
    expect(up.stderr).not.toContain('\u001b');
    const h1Now = (await list())['h1'];
    expect(h1Now).toMatchObject({
      state: 'connected',
      agent_version: '0.1.0',
      upgrade_available: false,
    });
    expect(await sh(h1, `ls ${TOWN}/.gt/versions`)).toContain(old.version);
    expect(await current(h1)).toMatch(/^0\.1\.0-/);

    const again = await run(['machine', 'upgrade', 'h1', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      ok: true,
      changed: false,
      agent_version: '0.1.0',
    });
    expect((await run(['machine', 'upgrade', 'h1'])).stdout).toContain('nothing changed');
  });

  it('switches back when the new version exits at start or fails its checksums; the old agent still answers', async () => {
    const good = await current(h1);
    const exits = await run(['machine', 'upgrade', 'h1'], bundles.exits);
    expect(exits.code).toBe(1);
    expect(exits.stderr).toMatch(
      /error: upgrading h1 failed at "start": the node agent exited \d+ times at start/,
    );
    expect(exits.stderr).toContain('agent: cannot start here');
    expect(exits.stderr).toMatch(
      new RegExp(`hint: version ${good} was switched back in and runs again`),
    );
    expect(await current(h1)).toBe(good);
    expect((await list())['h1']).toMatchObject({ state: 'connected', agent_version: '0.1.0' });

    const pid = await agentPid(h1);
    const bad = await run(['machine', 'upgrade', 'h1', '--json'], bundles.mismatch);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      error: {
        step: 'verify',
        message: expect.stringContaining('checksum mismatch for agent.mjs'),
      },
    });
    expect(await current(h1)).toBe(good);
    expect(await agentPid(h1)).toBe(pid); // never stopped
    expect(await sh(h1, `ls ${TOWN}/.gt/versions | grep -c partial || true`)).toBe('0');
    expect((await list())['h1']).toMatchObject({ state: 'connected', agent_version: '0.1.0' });
  });

  it('--all upgrades every ssh machine in parallel and names each failure', async () => {
    const added = await run(add(h2, ['--no-provision']));
    expect(added.code, added.stderr).toBe(0);
    const all = await run(['machine', 'upgrade', '--all']);
    expect({ code: all.code, stdout: all.stdout }).toMatchObject({ code: 1 });
    expect(all.stdout).toMatch(/^h1: node agent 0\.1\.0 running; nothing changed$/m);
    expect(all.stdout).toMatch(
      /^h2: failed: upgrading h2 failed at "probe": no node agent is installed there yet/m,
    );
    expect(all.stdout).toMatch(/^ {2}hint: install it first: `gt machine provision h2`$/m);
    expect(all.stderr).toMatch(/^error: the upgrade failed on 1 machine\(s\): h2$/m);
    const none = await run(['machine', 'upgrade']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/hint: .*gt machine upgrade --all/);
    const bad = await run(['machine', 'upgrade', 'Bad Name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid machine name/);
  });

  it('a provisioning killed during the upload leaves nothing running; the re-run breaks the stale lock and ends healthy', async () => {
    const stderr = await killDuringUpload(['machine', 'provision', 'h2'], bundles.padded, h2);
    expect(stderr).toContain('upload:');
    expect(await sh(h2, `ls -d ${TOWN}/.gt/versions/*.partial ${TOWN}/.gt/provision.lock`)).toMatch(
      /provision\.lock\n.*\.partial$/,
    );
    expect(await sh(h2, `test -e ${TOWN}/.gt/current || echo none`)).toBe('none');

    const again = await run(['machine', 'provision', 'h2'], bundles.padded);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(
      /note: broke a stale provisioning lock on h2: its holder \(\d+@h2 .*\) is gone/,
    );
    expect(again.stdout).toMatch(/node agent 0\.1\.0 installed/);
    expect(
      await sh(
        h2,
        `ls ${TOWN}/.gt/versions; ls -d ${TOWN}/.gt/provision.lock 2>&1 | grep -c 'No such'`,
      ),
    ).toMatch(/^0\.1\.0-[0-9a-f]+\n1$/);
    // The files on the machine are the bundle's, byte for byte.
    const m = JSON.parse(readFileSync(join(bundles.padded, 'manifest.json'), 'utf8')) as Manifest;
    const sums = await sh(h2, `cd ${TOWN}/.gt/current && sha256sum agent.mjs padding.bin`);
    for (const f of ['agent.mjs', 'padding.bin'])
      expect(sums).toContain(`${m.files.find((x) => x.path === f)!.sha256}  ${f}`);
    expect((await list())['h2']).toMatchObject({ state: 'connected', agent_version: '0.1.0' });
  });

  it('an upgrade killed during the upload leaves the previous version running', async () => {
    const before = await current(h1);
    const pid = await agentPid(h1);
    await killDuringUpload(['machine', 'upgrade', 'h1'], bundles.padded, h1);
    expect(await current(h1)).toBe(before);
    expect(await agentPid(h1)).toBe(pid);
    expect((await list())['h1']).toMatchObject({ state: 'connected', agent_version: '0.1.0' });
  });

  it('upgrade --all brings every machine to this version', async () => {
    const old = await run(['machine', 'provision', 'h2'], bundles.old);
    expect(old.code, old.stderr).toBe(0);
    expect((await list())['h2']).toMatchObject({ state: 'connected', upgrade_available: true });

    const all = await run(['machine', 'upgrade', '--all', '--json']);
    expect(all.code, `${all.stdout}\n${all.stderr}`).toBe(0);
    const res = JSON.parse(all.stdout) as { machines: Array<Record<string, unknown>> };
    expect(res.machines).toEqual([
      expect.objectContaining({ name: 'h1', ok: true, changed: false, agent_version: '0.1.0' }),
      expect.objectContaining({ name: 'h2', ok: true, changed: true, agent_version: '0.1.0' }),
    ]);
    const now = await list();
    expect(now['h1']).toMatchObject({ state: 'connected', upgrade_available: false });
    expect(now['h2']).toMatchObject({ state: 'connected', upgrade_available: false });
    // Kept on h2: this version and the previous one (to switch back to); older ones are gone.
    const versions = (await sh(h2, `ls ${TOWN}/.gt/versions`)).split('\n');
    expect(versions.sort()).toEqual(
      [res.machines[1]!['version'] as string, res.machines[1]!['previous'] as string].sort(),
    );
    expect(res.machines[1]!['previous']).toMatch(/^0\.0\.1-/);
  });

  it('on a terminal, --all shows one progress line per machine with the bytes uploaded', async () => {
    // The padded version is installed on both: remove it, so that both upload again.
    for (const h of [h1, h2])
      await sh(
        h,
        `cd ${TOWN}/.gt/versions && for d in *; do [ "$d" = "$(basename "$(readlink ../current)")" ] || rm -rf "$d"; done`,
      );
    // script(1) gives gt a pseudo-terminal; its output is what the terminal received.
    const command = remoteCommand([process.execPath, GT, 'machine', 'upgrade', '--all']);
    const r = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
        env: { ...process.env, ...env, GT_AGENT_BUNDLE: bundles.padded, TERM: 'xterm' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.once('exit', (code) => resolve({ code, output }));
    });
    expect(r.code, r.output).toBe(0);
    const line = (name: string): RegExp =>
      new RegExp(`\r${ESC}\\[2K${name} {2}upload \\[[#.]{20}\\] \\d+\\.\\d/\\d+\\.\\d MB`);
    expect(r.output).toMatch(line('h1'));
    expect(r.output).toMatch(line('h2'));
    expect(r.output).toContain(`${ESC}[2A`); // both lines redrawn in place
    expect(r.output).toMatch(/h1: upgraded .* -> 0\.1\.0-[0-9a-f]+; node agent 0\.1\.0 running/);
    expect(r.output).toMatch(/h2: upgraded .* -> 0\.1\.0-[0-9a-f]+; node agent 0\.1\.0 running/);
  });
});
