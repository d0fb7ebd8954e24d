// Elastic swarms against the local fake of the Compute REST endpoints (test/hosts/fake-compute.ts):
// templates are added, listed and refused when malformed; `gt swarm start --grow gcp:T` with the
// fleet short of room creates machines from the template in parallel (bare test-host containers,
// the real SSH provisioning path), `gt swarm status` shows them being created, a quota error on
// one of them leaves nothing of it in federation.json and the swarm runs on the room there is,
// naming what could not be grown; `gt machine list --json` shows the grown machine, its type,
// creation time and expiry; once the swarm is over and the machine sat idle its shrink time,
// `gt machine shrink` deletes it (container gone, federation.json clean) and the Mayor hears the
// machine-minutes. A loopback guard preloaded into gt proves nothing left the machine.
// (The full swarm, merged through a git server, is test/e2e/swarm-elastic.test.ts; here the
// polecats placed on the grown machine fail their clone, origin being a local path.)
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt, gtJson, REPO_ROOT } from '../helpers/cli.js';
import { startFakeCompute, type FakeCompute } from '../hosts/fake-compute.js';
import { createIssue, inboxOf, makeSessionTown, type SessionTown } from './sessions-helpers.js';

const execFileP = promisify(execFile);

let t: SessionTown;
let fake: FakeCompute;
let env: NodeJS.ProcessEnv;
let egressLog: string;

beforeAll(async () => {
  t = await makeSessionTown('gt-grow-');
  fake = await startFakeCompute(join(t.town, 'run', 'test-keys'));
  egressLog = join(t.base, 'egress.log');
  env = {
    ...t.env,
    HOME: join(t.base, 'home'),
    SSH_AUTH_SOCK: '',
    GOOGLE_APPLICATION_CREDENTIALS: fake.keyFile,
    GT_GCP_ENDPOINT: fake.endpoint,
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: '127.0.0.1:9',
    NODE_OPTIONS: `--import ${join(REPO_ROOT, 'test', 'hosts', 'loopback-guard.mjs')}`,
    GT_TEST_EGRESS_LOG: egressLog,
  };
  // The coordinator's own machine takes one polecat: a swarm of more is short of room.
  writeFileSync(
    fed(),
    JSON.stringify({ version: 1, machines: { local: { type: 'local', max_polecats: 1 } } }),
  );
});
afterAll(async () => {
  await gt(['down'], { env }).catch(() => undefined);
  await fake?.stop();
  await t?.cleanup();
});

const fed = (): string => join(t.town, 'config', 'federation.json');
const readFed = (): string => readFileSync(fed(), 'utf8');
const fedJson = (): {
  machines: Record<string, Record<string, unknown>>;
  templates?: Record<string, unknown>;
} => JSON.parse(readFed()) as never;

async function containerState(id: string): Promise<string> {
  try {
    return (await execFileP('docker', ['inspect', '-f', '{{.State.Status}}', id])).stdout.trim();
  } catch {
    return 'gone';
  }
}

describe('elastic swarms', () => {
  it('templates: malformed ones are refused (exit 2), others added, listed and removed', async () => {
    const before = readFed();
    const cases: Array<[string[], RegExp]> = [
      [['wk', '--gcp', 'gastown-test'], /malformed --gcp/],
      [['wk', '--gcp', 'gastown-test/nowhere'], /malformed --gcp/],
      [['wk', '--gcp', 'gastown-test/us-central1-a/extra'], /malformed --gcp/],
      [['wk', '--gcp', 'gastown-test/us-central1-a', '--max-polecats', '0'], /--max-polecats/],
      [['wk', '--gcp', 'gastown-test/us-central1-a', '--disk-gb', '5'], /--disk-gb/],
      [['wk', '--gcp', 'gastown-test/us-central1-a', '--label', 'Bad=X'], /invalid label/],
      [['wk', '--gcp', 'gastown-test/us-central1-a', '--user', 'root'], /invalid --user/],
      [['Bad_Name', '--gcp', 'gastown-test/us-central1-a'], /invalid machine name/],
    ];
    for (const [args, message] of cases) {
      const r = await gt(['machine', 'template', 'add', ...args], { env });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/\nhint: /);
    }
    expect(readFed()).toBe(before);

    const add = ['machine', 'template', 'add', 'wk', '--gcp', 'gastown-test/us-central1-a'];
    const added = await gt([...add, '--max-polecats', '2', '--label', 'pool=grow'], { env });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/gt swarm start <rig> --ready <n> --grow gcp:wk/);
    expect((await gt(add, { env })).stderr).toMatch(/a template named "wk" exists already/);
    expect(fedJson().templates?.wk).toEqual({
      type: 'gcp',
      project: 'gastown-test',
      zone: 'us-central1-a',
      machine_type: 'e2-standard-2',
      image_family: 'debian-12',
      image_project: 'debian-cloud',
      disk_gb: 20,
      max_polecats: 2,
      user: 'gastown',
      labels: ['pool=grow'],
    });
    const listed = await gt(['machine', 'template', 'list'], { env });
    expect(listed.stdout).toMatch(/wk\s+gastown-test\/us-central1-a\s+e2-standard-2/);
    const tmp = await gt([...add.slice(0, 3), 'tmp', ...add.slice(4)], { env });
    expect(tmp.code, tmp.stderr).toBe(0);
    expect((await gt(['machine', 'template', 'remove', 'tmp'], { env })).code).toBe(0);
    const gone = await gt(['machine', 'template', 'remove', 'tmp'], { env });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no template named "tmp"/);
    expect(Object.keys(fedJson().templates ?? {})).toEqual(['wk']);
  });

  it('--grow refuses bad input with exit 2 and creates nothing', async () => {
    const asked = fake.requests.length;
    const start = ['swarm', 'start', t.rig, '--ready', '3'];
    const cases: Array<[string[], RegExp]> = [
      [['--grow', 'wk'], /is not gcp:TEMPLATE/],
      [['--grow', 'aws:wk'], /is not gcp:TEMPLATE/],
      [['--grow', 'gcp:nope'], /no template named "nope"/],
      [['--grow', 'gcp:wk', '--max-machines', '0'], /--max-machines 0 is not 1–50/],
      [['--grow', 'gcp:wk', '--shrink-after', 'soon'], /is not a duration/],
      [['--shrink-after', '10m'], /--shrink-after is used only with --grow/],
      [['--grow', 'gcp:wk', '--label', 'pool=other'], /would not carry --label pool=other/],
    ];
    for (const [args, message] of cases) {
      const r = await gt([...start, ...args], { env });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
    expect(fake.requests.length).toBe(asked);
    expect(Object.keys(fedJson().machines)).toEqual(['local']);
  });

  let swarmId = '';
  let grownName = '';

  it('grows in parallel when short of room; a quota error: that one is not registered, the swarm runs on the room it has', async () => {
    for (let i = 1; i <= 5; i++) await createIssue(t, `Grow work ${i}`);
    // Two machines asked for at once; the first insert the fake sees hits the CPU quota.
    fake.fail('insert', 'quota');
    const started = gt(
      [
        'swarm',
        'start',
        t.rig,
        '--ready',
        '5',
        '--agent',
        'scripted',
        '--grow',
        'gcp:wk',
        '--max-machines',
        '2',
        '--shrink-after',
        '2s',
      ],
      { env, timeoutMs: 300_000 },
    );
    // While it grows, `gt swarm status` shows the machines being created.
    let seen = '';
    let done = false;
    void started.finally(() => (done = true));
    while (!done && seen === '') {
      const s = await gt(['swarm', 'status'], { env });
      if (/creating machine wk-\d \(gcp:wk\)/.test(s.stdout)) seen = s.stdout;
      else await new Promise((r) => setTimeout(r, 200));
    }
    const r = await started;
    expect(r.code, r.stderr).toBe(0);
    expect(seen).toMatch(/creating machine wk-\d \(gcp:wk\)/);
    expect(r.stderr).toMatch(/growing 2 machine\(s\) from gcp:wk \(room 1, 5 wanted\)/);
    expect(r.stderr).toMatch(/\[wk-\d\] wait for sshd/);
    expect(r.stderr).toMatch(/\[wk-\d\] ready: api [\d.]+s, sshd [\d.]+s, provisioning [\d.]+s/);
    expect(r.stderr).toMatch(/warning: could not grow wk-\d: .*QUOTA_EXCEEDED/);
    expect(r.stdout).toMatch(/note: could not grow wk-\d: .*QUOTA_EXCEEDED/);
    const grownLine = /note: grew (wk-\d) from gcp:wk/.exec(r.stdout);
    expect(grownLine).not.toBeNull();
    grownName = grownLine?.[1] ?? '';
    swarmId = /swarm (\S+) on /.exec(r.stdout)?.[1] ?? '';
    expect(swarmId).not.toBe('');
    // Only the machine that came up is in federation.json, marked as grown by this swarm.
    const machines = fedJson().machines;
    expect(Object.keys(machines).sort()).toEqual(['local', grownName].sort());
    expect(machines[grownName]).toMatchObject({
      type: 'gcp',
      instance: grownName,
      max_polecats: 2,
      labels: ['pool=grow'],
      grown: { swarm: swarmId, template: 'wk', shrink_after_s: 2 },
    });
    expect(typeof machines[grownName]?.created_at).toBe('string');
    // The local machine took its one polecat: the swarm ran on the room it had.
    const status = await gtJson<{
      swarms: Array<{ issues: Array<{ machine: string; error: string; polecat: string }> }>;
    }>(['swarm', 'status', swarmId], { env });
    const issues = status.swarms[0]?.issues ?? [];
    expect(issues.filter((i) => i.machine === 'local' && i.polecat !== '')).toHaveLength(1);

    const listed = await gtJson<{
      machines: Array<{
        name: string;
        machine_type?: string;
        created_at?: string;
        grown_by?: string;
        expiry?: string;
      }>;
    }>(['machine', 'list'], { env });
    const m = listed.machines.find((x) => x.name === grownName);
    expect(m).toMatchObject({
      grown_by: swarmId,
      expiry: '2s idle after the swarm is complete',
    });
    expect(m?.machine_type).toMatch(/e2-standard-2/);
    expect(Date.parse(m?.created_at ?? '')).toBeGreaterThan(Date.now() - 15 * 60_000);
    const text = await gt(['machine', 'list'], { env });
    expect(text.stdout).toMatch(
      new RegExp(`${grownName}\\s+gcp \\(grown by swarm ${swarmId}; deleted after 2s idle`),
    );
  });

  it('kept while the swarm runs; deleted once it is over and idle: container gone, federation.json clean, the Mayor told the machine-minutes', async () => {
    const container = fake.instance(grownName)?.container ?? '';
    expect(await containerState(container)).toBe('running');
    const early = await gt(['machine', 'shrink'], { env });
    expect(early.code, early.stderr).toBe(0);
    expect(early.stdout).toMatch(new RegExp(`kept ${grownName}: `));
    expect(fedJson().machines[grownName]).toBeDefined();

    const cancelled = await gt(['swarm', 'cancel', swarmId], { env });
    expect(cancelled.code, cancelled.stderr).toBe(0);
    const due = await gt(['machine', 'shrink', '--dry-run'], { env });
    expect(due.stdout).toMatch(new RegExp(`(kept|due) ${grownName}`));
    expect(fedJson().machines[grownName]).toBeDefined();
    // The daemon's loop deletes it once its 2 s of idleness after the swarm's end are up.
    const up = await gt(['up'], { env: { ...env, GT_SHRINK_INTERVAL_MS: '500' } });
    expect(up.code, up.stderr).toBe(0);
    try {
      const deadline = Date.now() + 60_000;
      while (fedJson().machines[grownName] !== undefined && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 250));
      expect(fedJson().machines[grownName]).toBeUndefined();
      const deadline2 = Date.now() + 30_000;
      while ((await containerState(container)) !== 'gone' && Date.now() < deadline2)
        await new Promise((r) => setTimeout(r, 250));
    } finally {
      await gt(['down'], { env });
    }
    const r = await gt(['machine', 'shrink'], { env });
    expect(r.stdout).toMatch(/No grown machines/);
    expect(await containerState(container)).toBe('gone');
    expect(fake.instance(grownName)).toBeUndefined();
    expect(Object.keys(fedJson().machines)).toEqual(['local']);
    const ledger = JSON.parse(
      readFileSync(join(t.town, 'config', 'grown-machines.json'), 'utf8'),
    ) as { machines: Array<{ name: string; swarm: string; deleted_at?: string }> };
    expect(ledger.machines).toEqual([
      expect.objectContaining({ name: grownName, swarm: swarmId, deleted_at: expect.any(String) }),
    ]);
    const status = await gt(['swarm', 'status', swarmId], { env });
    expect(status.stdout).toMatch(/note: grown machines: 1, \d+ machine-minutes/);
    const mail = inboxOf(join(t.town, 'mayor'));
    expect(
      mail.some((m) => String(m.subject).includes(`swarm ${swarmId}: grown machines deleted`)),
    ).toBe(true);
  });

  it('a 403 and a failed operation: named, nothing registered; the swarm runs on the room it has, or says there is none', async () => {
    const start = ['swarm', 'start', t.rig, '--ready', '2', '--agent', 'scripted'];
    const grow = ['--grow', 'gcp:wk', '--max-machines', '1', '--shrink-after', '1m'];
    fake.fail('insert', 'forbidden');
    const denied = await gt([...start, ...grow], { env, timeoutMs: 300_000 });
    expect(denied.code, denied.stderr).toBe(0);
    expect(denied.stderr).toMatch(/warning: could not grow wk-1: not allowed to create instance/);
    expect(denied.stdout).toMatch(/note: could not grow wk-1: not allowed/);
    // The room counted is the room kept to: one polecat on local (max_polecats 1), one not placed.
    expect(denied.stdout).toMatch(/ local +working/);
    expect(denied.stdout).toMatch(/no machine had room for it/);

    // The local machine is full now: a failed operation leaves no room at all, and both are said.
    fake.fail('insert', 'operation');
    const failed = await gt([...start, ...grow], { env, timeoutMs: 300_000 });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/warning: could not grow wk-1: .*ZONE_RESOURCE_POOL_EXHAUSTED/);
    expect(failed.stderr).toMatch(/no machine has room for the swarm/);
    expect(Object.keys(fedJson().machines)).toEqual(['local']);
    expect(fake.instance('wk-1')).toBeUndefined();
  });

  it('nothing left loopback: every API call was signed with our key, no other address was dialled', () => {
    expect(fake.requests.filter((q) => q.auth !== 'jwt')).toEqual([]);
    expect(existsSync(egressLog) ? readFileSync(egressLog, 'utf8') : '').toBe('');
  });
});
