// gcp machines against a local fake of the Compute REST endpoints (test/hosts/fake-compute.ts):
// the built gt uses the real client with a service-account key file (ADC), pointed at the fake
// with GT_GCP_ENDPOINT; every instance is a bare test-host container and everything after the
// API is the real SSH path. Bad input exits 2; no credentials, a 403, a quota error and a failed
// operation say so and write nothing; add --create → provisioned and connected; stop → shown
// stopped; start → a new address, connected again with the same host key; `gt doctor` logs in
// over SSH at the address the API gives each time (login, host key — a changed one refused —,
// agent service, disk), and names a stopped instance; remove --delete asks on a terminal (a real
// pty: no → nothing deleted, yes → the container is gone) and without one needs --yes. A loopback guard preloaded into gt proves nothing left the machine.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GT, gt, gtJson, REPO_ROOT } from '../helpers/cli.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { startFakeCompute, type FakeCompute } from '../hosts/fake-compute.js';

const execFileP = promisify(execFile);

let base: string;
let town: string;
let fake: FakeCompute;
let env: NodeJS.ProcessEnv;
let egressLog: string;

const REF = 'gastown-test/us-central1-a/worker-1';

beforeAll(async () => {
  base = tempDirUnmanaged('gt-gcp-');
  town = join(base, 'town');
  expect((await gt(['install', town])).code).toBe(0);
  fake = await startFakeCompute(join(town, 'run', 'test-keys'));
  mkdirSync(join(base, 'home'), { recursive: true });
  egressLog = join(base, 'egress.log');
  env = {
    GT_TOWN: town,
    // An empty HOME: no gcloud credentials or ~/.ssh of the user are read.
    HOME: join(base, 'home'),
    SSH_AUTH_SOCK: '',
    GOOGLE_APPLICATION_CREDENTIALS: fake.keyFile,
    GT_GCP_ENDPOINT: fake.endpoint,
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: '127.0.0.1:9',
    NODE_OPTIONS: `--import ${join(REPO_ROOT, 'test', 'hosts', 'loopback-guard.mjs')}`,
    GT_TEST_EGRESS_LOG: egressLog,
  };
});
afterAll(async () => {
  await fake?.stop();
});

const fed = (): string => join(town, 'config', 'federation.json');
const readFed = (): string => (existsSync(fed()) ? readFileSync(fed(), 'utf8') : '<none>');

interface ListedMachine {
  name: string;
  type: string;
  state: string;
  agent_version?: string;
  address: string;
  detail?: string;
}
interface Finding {
  check: string;
  status: string;
  message: string;
  hint: string;
  machine: string;
}
/** gt doctor's findings about one machine, by check. */
async function doctorOf(name: string): Promise<Record<string, Finding>> {
  const r = await gt(['doctor', '--json'], { env });
  const { findings } = JSON.parse(r.stdout) as { findings: Finding[] };
  return Object.fromEntries(findings.filter((f) => f.machine === name).map((f) => [f.check, f]));
}

/**
 * gt on a real terminal: a pty made by script(1); the answer is typed once the question shows.
 * The command line is ours alone (the built gt and constant arguments), quoted for script's sh.
 */
async function onTerminal(
  args: string[],
  answer: string,
): Promise<{ code: number; output: string }> {
  const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, GT, ...args].map(quote).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let answered = false;
  const read = (d: Buffer): void => {
    output += d.toString();
    if (!answered && output.includes('[y/N]')) {
      answered = true;
      child.stdin.write(`${answer}\n`);
    }
  };
  child.stdout.on('data', read);
  child.stderr.on('data', read);
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  try {
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    return { code, output };
  } finally {
    clearTimeout(timer);
    child.stdin.end();
  }
}

const machines = async (): Promise<ListedMachine[]> =>
  (await gtJson<{ machines: ListedMachine[] }>(['machine', 'list'], { env })).machines;

async function containerState(id: string): Promise<string> {
  try {
    return (await execFileP('docker', ['inspect', '-f', '{{.State.Status}}', id])).stdout.trim();
  } catch {
    return 'gone';
  }
}

describe('gcp machines', () => {
  it('refuses bad input with exit 2 and the fix, asking nothing', async () => {
    const before = readFed();
    const asked = fake.requests.length;
    const cases: Array<[string[], RegExp]> = [
      [['w', '--gcp', 'gastown-test/us-central1-a'], /malformed gcp instance/],
      [['w', '--gcp', 'Bad_Project/us-central1-a/w'], /malformed gcp instance/],
      [['w', '--gcp', 'gastown-test/nowhere/w'], /malformed gcp instance/],
      [['w', '--gcp', 'gastown-test/us-central1-a/UPPER'], /malformed gcp instance/],
      [['w', '--gcp', `${REF}/extra`], /malformed gcp instance/],
      [['w', '--gcp', REF, '--create'], /needs --accept-host-key/],
      [['w', '--gcp', REF, '--machine-type', 'e2-small'], /only with --create/],
      [['w', '--gcp', REF, '--create', '--accept-host-key', '--disk-gb', 'big'], /--disk-gb/],
      [['w', '--gcp', REF, '--user', 'root'], /invalid --user/],
      [['w', '--gcp', REF, '--label', 'Team=X'], /invalid label/],
      [['w', '--gcp', REF, '--ssh', 'root@host'], /not both/],
      [['w'], /--ssh user@host\[:port\] or --gcp PROJECT\/ZONE\/INSTANCE/],
      [['bad..name', '--gcp', REF], /invalid machine name/],
    ];
    for (const [args, message] of cases) {
      const r = await gt(['machine', 'add', ...args], { env });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/\nhint: /);
    }
    expect(readFed()).toBe(before);
    expect(fake.requests.length).toBe(asked);
  });

  it('without credentials names the three ways to set them up, and sends nothing', async () => {
    const asked = fake.requests.length;
    const r = await gt(['machine', 'add', 'w', '--gcp', REF], {
      env: { ...env, GOOGLE_APPLICATION_CREDENTIALS: '' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no Google Cloud credentials found/);
    expect(r.stderr).toMatch(/gcloud auth application-default login/);
    expect(r.stderr).toMatch(/GOOGLE_APPLICATION_CREDENTIALS/);
    expect(r.stderr).toMatch(/metadata server/);
    expect(fake.requests.length).toBe(asked);
    expect(existsSync(join(town, 'config', 'ssh'))).toBe(false);
  });

  it('a 403, a quota error and a failed operation: clear errors, nothing written', async () => {
    const before = readFed();
    const add = ['machine', 'add', 'w1', '--gcp', REF, '--create', '--accept-host-key'];
    fake.fail('insert', 'forbidden');
    const denied = await gt(add, { env });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      /not allowed to create instance gastown-test\/us-central1-a\/worker-1/,
    );
    expect(denied.stderr).toMatch(/roles\/compute\.instanceAdmin\.v1/);

    fake.fail('insert', 'quota');
    const quota = await gt(add, { env });
    expect(quota.code).toBe(1);
    expect(quota.stderr).toMatch(/QUOTA_EXCEEDED: Quota 'CPUS' exceeded/);
    expect(quota.stderr).toMatch(/hint: free quota in gastown-test/);

    fake.fail('insert', 'operation');
    const failed = await gt(add, { env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/failed: ZONE_RESOURCE_POOL_EXHAUSTED/);

    const missing = await gt(['machine', 'add', 'w1', '--gcp', 'gastown-test/us-central1-a/nope'], {
      env,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/instance gastown-test\/us-central1-a\/nope was not found/);
    expect(missing.stderr).toMatch(/add --create to create it/);

    expect(readFed()).toBe(before);
    expect(fake.instance('worker-1')).toBeUndefined();
  });

  it('add --create: created, provisioned over SSH and connected', async () => {
    const r = await gtJson<{
      provisioned: boolean;
      agent_version: string;
      address: string;
      machine: { type: string; instance: string; user: string; identity_file: string };
      timings_ms: { api: number; sshd: number; provision: number };
    }>(
      [
        'machine',
        'add',
        'g1',
        '--gcp',
        REF,
        '--create',
        '--accept-host-key',
        '--label',
        'team=infra',
        '--max-polecats',
        '2',
      ],
      { env },
    );
    expect(r.provisioned).toBe(true);
    expect(r.machine).toMatchObject({ type: 'gcp', instance: 'worker-1', user: 'gastown' });
    // The town's own key, owner-only, under the town's config.
    expect(r.machine.identity_file).toBe(join(town, 'config', 'ssh', 'id_ed25519'));
    expect(fake.instance('worker-1')?.address).toBe(r.address);
    const federation = JSON.parse(readFed()) as { machines: Record<string, unknown> };
    expect(federation.machines.g1).toMatchObject({
      type: 'gcp',
      project: 'gastown-test',
      zone: 'us-central1-a',
      instance: 'worker-1',
      max_polecats: 2,
      labels: ['team=infra'],
    });
    // The host key is known by the instance's id, not by its address.
    expect(readFileSync(join(town, 'config', 'known_hosts'), 'utf8')).toMatch(
      /^compute\.\d+ ssh-ed25519 /m,
    );
    const g1 = (await machines()).find((m) => m.name === 'g1');
    expect(g1).toMatchObject({ type: 'gcp', state: 'connected', address: REF });
    expect(g1?.agent_version).toBe(r.agent_version);
  });

  it('gt doctor looks at it over SSH at the address the API gives: login, host key, agent, disk', async () => {
    const address = fake.instance('worker-1')?.address ?? '';
    const found = await doctorOf('g1');
    expect(found['machine-reachable']).toMatchObject({ status: 'ok' });
    expect(found['machine-reachable']?.message).toContain(`gastown@${address}:22`);
    expect(found['machine-reachable']?.message).toContain(`instance ${REF}`);
    expect(found['host-key']).toMatchObject({ status: 'ok' });
    expect(found['agent-service']).toMatchObject({
      status: 'ok',
      message: 'machine g1: node agent service running',
    });
    expect(found['machine-disk']?.message).toMatch(/GiB free under \/home\/gastown\/gastown/);
    expect(found['agent-version']).toMatchObject({ status: 'ok' });

    // Another key recorded for the instance: the doctor's own login refuses the one it is shown.
    const knownHosts = join(town, 'config', 'known_hosts');
    const before = readFileSync(knownHosts, 'utf8');
    const other = join(base, 'other_host_key');
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const otherKey = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, before.replace(/^(compute\.\d+) .*$/m, `$1 ${otherKey}`));
    try {
      const changed = await doctorOf('g1');
      expect(changed['host-key']).toMatchObject({ status: 'error' });
      expect(changed['host-key']?.message).toMatch(/machine g1: .*host key/i);
      expect(changed['agent-service']).toBeUndefined();
    } finally {
      writeFileSync(knownHosts, before);
    }
  });

  it('stop shows it stopped; start gives it a new address and connects again', async () => {
    const before = fake.instance('worker-1');
    const stopped = await gt(['machine', 'stop', 'g1'], { env });
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(await containerState(before?.container ?? '')).toBe('exited');
    const listed = (await machines()).find((m) => m.name === 'g1');
    expect(listed?.state).toBe('stopped');
    expect(listed?.detail).toMatch(/TERMINATED/);
    const text = await gt(['machine', 'list'], { env });
    expect(text.stdout).toMatch(/g1\s+gcp\s+\S+\s+stopped/);
    const down = (await doctorOf('g1'))['machine-reachable'];
    expect(down).toMatchObject({ status: 'error' });
    expect(down?.message).toMatch(/TERMINATED/);
    expect(down?.hint).toMatch(/gt machine start g1/);

    const started = await gt(['machine', 'start', 'g1'], { env });
    expect(started.code, started.stderr).toBe(0);
    const after = fake.instance('worker-1');
    expect(after?.address).toBeDefined();
    expect(after?.address).not.toBe(before?.address);
    expect((await machines()).find((m) => m.name === 'g1')?.state).toBe('connected');
    const back = await doctorOf('g1');
    expect(back['machine-reachable']?.message).toContain(`gastown@${after?.address ?? '?'}:22`);
    expect(back['host-key']).toMatchObject({ status: 'ok' });
    // Re-provisioning goes through the instance's new address and finds everything in place.
    const again = await gt(['machine', 'provision', 'g1'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already installed and running; nothing changed/);
  });

  it('without --create an existing instance is found and contacted (its host key already known)', async () => {
    const key = join(town, 'config', 'ssh', 'id_ed25519');
    const r = await gt(
      ['machine', 'add', 'g2', '--gcp', REF, '--identity', key, '--no-provision', '--json'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      provisioned: false,
      address: fake.instance('worker-1')?.address,
      machine: { type: 'gcp', instance: 'worker-1', town_path: '/home/gastown/gastown' },
    });
    const removed = await gt(['machine', 'remove', 'g2', '--force'], { env });
    expect(removed.code, removed.stderr).toBe(0);
    expect(fake.instance('worker-1')?.status).toBe('RUNNING');
  });

  it('remove --delete: refused without a terminal or --yes; on a terminal "no" keeps it, "yes" deletes it', async () => {
    const container = fake.instance('worker-1')?.container ?? '';
    const piped = await gt(['machine', 'remove', 'g1', '--delete'], { env });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toMatch(/deletes the instance and its disk: confirm it/);
    expect(piped.stderr).toMatch(/hint: .*gt machine remove g1 --delete --yes/);
    expect(JSON.parse(readFed()).machines.g1).toBeDefined();

    const no = await onTerminal(['machine', 'remove', 'g1', '--delete'], 'n');
    expect(no.output).toMatch(
      /delete instance gastown-test\/us-central1-a\/worker-1 and everything on its disk\? \[y\/N\]/,
    );
    expect(no.code, no.output).toBe(1);
    expect(no.output).toMatch(/nothing was removed or deleted/);
    expect(await containerState(container)).toBe('running');
    expect(JSON.parse(readFed()).machines.g1).toBeDefined();

    const yes = await onTerminal(['machine', 'remove', 'g1', '--delete'], 'y');
    expect(yes.code, yes.output).toBe(0);
    expect(yes.output).toMatch(/deleted instance gastown-test\/us-central1-a\/worker-1/);
    expect(await containerState(container)).toBe('gone');
    expect(fake.instance('worker-1')).toBeUndefined();
    expect(JSON.parse(readFed()).machines.g1).toBeUndefined();
  });

  it('nothing left loopback: every API call was signed with our key, no other address was dialled', () => {
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(fake.requests.filter((q) => q.auth !== 'jwt')).toEqual([]);
    expect(existsSync(egressLog) ? readFileSync(egressLog, 'utf8') : '').toBe('');
  });
});
