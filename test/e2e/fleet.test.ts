// A fleet of two bare Debian hosts (no Node.js), provisioned in parallel by `gt machine add`:
// both connected with this version; a rig homed on one of them (its origin a path on that host)
// reached by gt rigs / status / doctor, bd --rig and gt spawn, whose session there runs plain
// `gt` and `bd`; a paused host shown unreachable by gt status / rigs / doctor (through the town
// daemon) while the other answers, and back without a restart of anything; the node agent
// killed -9 under a live session (the supervisor brings it back, the session lives on); a stopped
// agent service found by gt doctor and started by --fix; a changed host key found by gt doctor.
import { spawn as spawnProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../coordinator/ssh/known-hosts.js';
import { GT, bd, gt, gtJson } from '../helpers/cli.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { docker, startTestHosts, type TestHost, type TestHosts } from '../hosts/containers.js';

const TOWN_PATH = '/srv/gastown';
const ORIGIN = '/srv/repos/app.git';

let town: string;
let fleet: TestHosts | undefined;
let w1: TestHost;
let w2: TestHost;
let env: NodeJS.ProcessEnv;
let version: string;

interface MachineJson {
  name: string;
  state: string;
  detail: string;
  agent_version?: string;
}
interface StatusJson {
  machines: MachineJson[];
  rigs: Array<{
    rig: { name: string; machine: string };
    agents: Array<{ address: string; session_alive?: boolean; state: string }>;
  }>;
}
interface Finding {
  check: string;
  status: string;
  machine: string;
  message: string;
  fixable?: boolean;
}

/** Run on a host as root (docker exec, no shell); fails the test on a non-zero exit. */
async function on(h: TestHost, argv: string[]): Promise<string> {
  const r = await h.run(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} on ${h.name}: ${r.output}`);
  return r.output;
}

const machinesOf = (s: StatusJson): Record<string, MachineJson> =>
  Object.fromEntries(s.machines.map((m) => [m.name, m]));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

beforeAll(async () => {
  const base = tempDirUnmanaged('gt-fl-');
  town = join(base, 'town');
  mkdirSync(join(base, 'home'), { recursive: true });
  // An empty HOME: the user's own ~/.ssh is never read or written by the test.
  env = { GT_TOWN: town, HOME: join(base, 'home'), SSH_AUTH_SOCK: '' };
  const [installed, hosts, v] = await Promise.all([
    gt(['install', town]),
    startTestHosts(['w1', 'w2'], join(base, 'keys')),
    gt(['--version']),
  ]);
  fleet = hosts;
  expect(installed.code).toBe(0);
  version = v.stdout.trim().replace(/^gt /, '');
  [w1, w2] = hosts.hosts as [TestHost, TestHost];
  const add = (h: TestHost) =>
    gt(
      [
        ...['machine', 'add', h.name, '--ssh', `root@${h.host}:${h.port}`],
        ...['--identity', hosts.clientKey, '--accept-host-key', '--town-path', TOWN_PATH],
      ],
      { env, timeoutMs: 300_000 },
    );
  const added = await Promise.all([add(w1), add(w2)]);
  for (const r of added) expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
}, 400_000);

afterAll(async () => {
  await fleet?.stop();
});

describe('a fleet of two provisioned hosts', () => {
  let polecat = '';

  it('lists both connected with this version; a rig homed on w1 is reached by every command; doctor is clean; its sessions run plain gt and bd', async () => {
    const list = await gtJson<{ machines: MachineJson[] }>(['machine', 'list'], { env });
    const byName = Object.fromEntries(list.machines.map((m) => [m.name, m]));
    for (const name of ['w1', 'w2'])
      expect(byName[name]).toMatchObject({ state: 'connected', agent_version: version });

    // The rig's origin is a path on w1: the URL is as seen from the rig's machine.
    await on(w1, ['git', 'init', '-q', '--bare', '-b', 'main', ORIGIN]);
    await on(w1, ['git', 'init', '-q', '-b', 'main', '/srv/seed']);
    await on(w1, [
      ...['git', '-C', '/srv/seed', '-c', 'user.name=seed', '-c', 'user.email=seed@test'],
      ...['commit', '-q', '--allow-empty', '-m', 'first'],
    ]);
    await on(w1, ['git', '-C', '/srv/seed', 'push', '-q', ORIGIN, 'HEAD:main']);
    const rig = await gtJson<{ name: string; machine: string; path: string }>(
      ['rig', 'add', 'app', ORIGIN, '--machine', 'w1'],
      { env, timeoutMs: 120_000 },
    );
    expect(rig).toMatchObject({ name: 'app', machine: 'w1', path: `${TOWN_PATH}/app` });
    // Container, refinery clone, beads DB and witness live on w1, nothing of it here.
    await on(w1, ['test', '-d', `${TOWN_PATH}/app/refinery/rig/.git`]);
    await on(w1, ['test', '-d', `${TOWN_PATH}/app/.beads`]);
    await on(w1, ['test', '-d', `${TOWN_PATH}/app/witness`]);
    expect((await w2.run(['test', '-e', `${TOWN_PATH}/app`])).exitCode).not.toBe(0);

    const rigs = await gtJson<{ rigs: Array<{ name: string; machine: string }> }>(['rigs'], {
      env,
    });
    expect(rigs.rigs.map((r) => [r.name, r.machine])).toEqual([['app', 'w1']]);
    const status = await gtJson<StatusJson>(['status'], { env });
    expect(status.rigs.map((r) => [r.rig.name, r.rig.machine])).toEqual([['app', 'w1']]);
    const plain = await gt(['status'], { env });
    expect(plain.stdout).toMatch(/w1 \[ssh, connected\]/);
    expect(plain.stdout).toMatch(/Rig app .* machine w1/);

    const doctor = await gt(['doctor', '--json'], { env, timeoutMs: 180_000 });
    const findings = (JSON.parse(doctor.stdout) as { findings: Finding[] }).findings;
    expect(findings.filter((f) => f.status !== 'ok')).toEqual([]);
    expect(doctor.code).toBe(0);
    const fleetChecks = [
      'agent-service',
      'agent-version',
      'clock-offset',
      'host-key',
      'machine-disk',
      'machine-reachable',
    ];
    for (const m of ['w1', 'w2'])
      expect(
        findings
          .filter((f) => f.machine === m && f.check !== '' && fleetChecks.includes(f.check))
          .map((f) => f.check)
          .sort(),
      ).toEqual(fleetChecks);

    // bd against the rig's beads, on w1.
    const created = await bd(['--rig', 'app', 'create', 'Check the path', '-p', '1', '--json'], {
      env,
    });
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    const issue = (JSON.parse(created.stdout) as { id: string }).id;
    const ready = await bd(['--rig', 'app', 'ready'], { env });
    expect(ready.stdout).toContain(issue);
    const missing = await bd(['--rig', 'app', 'show', 'app-zzz'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: /m);

    // A polecat on w1 whose agent reports where gt and bd are, then waits at a prompt.
    await w1.container.copyContentToContainer([
      {
        content: JSON.stringify({
          presets: {
            probe: {
              command: [
                'sh',
                '-c',
                'command -v gt; command -v bd; gt --version; bd --version; echo "probe ready> "; exec cat',
              ],
              ready_pattern: '^probe ready> ',
            },
          },
        }),
        target: `${TOWN_PATH}/config/agents.json`,
      },
    ]);
    const spawned = await gtJson<{ polecat: string; rig: string }>(
      ['spawn', 'app', '--issue', issue, '--agent', 'probe'],
      { env, timeoutMs: 120_000 },
    );
    polecat = spawned.polecat;
    const pane = await gt(['capture', `app/${polecat}`], { env });
    expect(pane.code).toBe(0);
    expect(pane.stdout).toContain(`${TOWN_PATH}/run/bin/gt\n${TOWN_PATH}/run/bin/bd\n`);
    expect(pane.stdout).toContain(`gt ${version}`);
    expect(pane.stdout).toMatch(new RegExp(`^${version.replace(/\./g, '\\.')} \\(beads`, 'm'));
    const after = await gtJson<StatusJson>(['status'], { env });
    const agent = after.rigs[0]?.agents.find((a) => a.address === `app/${polecat}`);
    expect(agent).toMatchObject({ state: 'working', session_alive: true });
    // The rig's other commands reach w1 as well.
    const polecats = await gt(['polecats', 'app'], { env });
    expect(polecats.stdout).toMatch(new RegExp(`^${polecat} +working +${issue} +alive`, 'm'));
    const mq = await gt(['mq', 'list', 'app'], { env });
    expect({ code: mq.code, stdout: mq.stdout }).toEqual({ code: 0, stdout: 'app: 0 entries\n' });
    const patrol = await gt(['witness', 'patrol', 'app', '--once'], { env });
    expect(patrol.stdout).toMatch(/^patrol of app: 1 polecat\(s\)/);
    const mail = await gt(['send', 'app/witness', '-s', 'hello w1', '-m', 'from afar'], { env });
    expect(mail.code).toBe(0);
    const inbox = await gt(['inbox', '--as', 'app/witness'], { env });
    expect(inbox.stdout).toContain('hello w1');
    await on(w1, ['grep', '-q', 'hello w1', `${TOWN_PATH}/app/witness/mail/inbox.jsonl`]);
  }, 400_000);

  it('a paused host is shown unreachable with its reason while the other answers; unpaused, it is back without a restart', async () => {
    // The town daemon holds the connections: nothing is restarted between pause and unpause.
    const up = await gt(['up'], { env });
    expect({ code: up.code, stderr: up.stderr }).toEqual({ code: 0, stderr: '' });
    const id = w2.container.getId();
    await docker(['pause', id]);
    try {
      const status = await gt(['status', '--json'], { env, timeoutMs: 120_000 });
      expect(status.code).toBe(0);
      const m = machinesOf(JSON.parse(status.stdout) as StatusJson);
      expect(m.w1?.state).toBe('connected');
      // Unreachable (its query timed out) or, once the daemon's heartbeat watch has decided,
      // disconnected: on a loaded machine either can come first.
      expect(m.w2?.state).toMatch(/^(unreachable|disconnected)$/);
      expect(m.w2?.detail).toMatch(/did not answer within \d+ ms|no heartbeat for \d+ s/);
      expect((JSON.parse(status.stdout) as StatusJson).rigs.map((r) => r.rig.name)).toEqual([
        'app',
      ]);
      const plain = await gt(['status'], { env, timeoutMs: 120_000 });
      expect(plain.stdout).toMatch(/w2 \[ssh, (unreachable|disconnected)\]/);
      expect(plain.stdout).toMatch(/^ {2}w2 (unreachable|disconnected): /m);
      const rigs = await gt(['rigs'], { env, timeoutMs: 120_000 });
      expect(rigs.code).toBe(0);
      expect(rigs.stdout).toMatch(/^app +app +w1 /m);
      // By now the daemon's heartbeat watch may have called it disconnected (15 s of silence).
      expect(rigs.stderr).toMatch(
        /warning: machine w2 \((unreachable|disconnected)\) did not answer/,
      );
      // The doctor: the hung machine is one error of its own, the rest of the fleet is checked.
      const doctor = await gt(['doctor', '--json'], { env, timeoutMs: 180_000 });
      expect(doctor.code).toBe(1);
      const bad = (JSON.parse(doctor.stdout) as { findings: Finding[] }).findings.filter(
        (f) => f.status !== 'ok',
      );
      expect(bad).toEqual([
        expect.objectContaining({ check: 'machine-reachable', machine: 'w2', status: 'error' }),
      ]);
    } finally {
      await docker(['unpause', id]);
    }
    try {
      const back = await gtJson<StatusJson>(['status', '--verbose'], { env });
      expect(machinesOf(back).w2?.state).toBe('connected');
      const served = await gt(['status', '--verbose'], { env });
      expect(served.stderr).toMatch(/served by: town daemon/);
    } finally {
      expect((await gt(['down'], { env })).code).toBe(0);
    }
  }, 300_000);

  it('kill -9 of the node agent under a live session: the supervisor restarts it, the session lives on, gt status recovers', async () => {
    const session = `gt-app-${polecat}`;
    const tmux = ['tmux', '-S', `${TOWN_PATH}/run/tmux.sock`];
    const panePid = async (): Promise<string> =>
      (await on(w1, [...tmux, 'list-panes', '-t', `=${session}`, '-F', '#{pane_pid}'])).trim();
    const before = {
      pane: await panePid(),
      agent: (await on(w1, ['cat', `${TOWN_PATH}/run/node-agent.pid`])).trim(),
    };
    expect(before.pane).toMatch(/^\d+$/);
    await on(w1, ['kill', '-9', before.agent]);
    const agent = await waitFor('a new node agent on w1', async () => {
      const r = await w1.run(['cat', `${TOWN_PATH}/run/node-agent.pid`]);
      const pid = r.output.trim();
      return r.exitCode === 0 && /^\d+$/.test(pid) && pid !== before.agent ? pid : undefined;
    });
    expect(agent).not.toBe(before.agent);
    // The same pane process: the session was never restarted.
    expect(await panePid()).toBe(before.pane);
    const status = await waitFor('gt status with w1 back', async () => {
      const r = await gt(['status', '--json'], { env });
      if (r.code !== 0) return undefined;
      const s = JSON.parse(r.stdout) as StatusJson;
      return machinesOf(s).w1?.state === 'connected' ? s : undefined;
    });
    const row = status.rigs[0]?.agents.find((a) => a.address === `app/${polecat}`);
    expect(row).toMatchObject({ state: 'working', session_alive: true });
  }, 300_000);

  it('gt attach to the polecat on w1 shows its pane through the SSH connection; detaching leaves it running', async () => {
    const session = `gt-app-${polecat}`;
    const child = spawnProcess(
      'script',
      ['-qfec', `${process.execPath} ${GT} attach w1:app/${polecat}`, '/dev/null'],
      { env: { ...env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    await waitFor('the remote pane on the terminal', () =>
      Promise.resolve(out.includes('probe ready>') ? true : undefined),
    );
    expect(out).toContain(`attaching to app/${polecat} (session ${session} on w1)`);
    child.stdin.write('\x02d'); // tmux prefix, then d
    expect(await exited).toBe(0);
    expect(out).toMatch(/\[detached \(from session /);
    await on(w1, ['tmux', '-S', `${TOWN_PATH}/run/tmux.sock`, 'has-session', '-t', `=${session}`]);
  }, 120_000);

  it('gt doctor names a stopped agent service (the rest of the fleet answers); --fix starts it again', async () => {
    const supervisor = (await on(w2, ['cat', `${TOWN_PATH}/run/node-agent-supervisor.pid`])).trim();
    await on(w2, ['kill', supervisor]); // its trap stops the agent too
    await waitFor('the agent on w2 to stop', async () =>
      (await w2.run(['test', '-S', `${TOWN_PATH}/run/node-agent.sock`])).exitCode !== 0
        ? true
        : undefined,
    );
    const sick = await gt(['doctor', '--json'], { env, timeoutMs: 180_000 });
    expect(sick.code).toBe(1);
    const bad = (JSON.parse(sick.stdout) as { findings: Finding[] }).findings.filter(
      (f) => f.status !== 'ok',
    );
    expect(bad).toEqual([
      expect.objectContaining({
        check: 'agent-service',
        machine: 'w2',
        status: 'error',
        fixable: true,
      }),
    ]);
    const human = await gt(['doctor'], { env, timeoutMs: 180_000 });
    expect(human.stdout).toMatch(
      /ERROR agent-service \(w2: machine\): machine w2: the node agent service is not running/,
    );
    expect(human.stdout).toContain('run `gt doctor --fix`');

    const fixed = await gt(['doctor', '--fix'], { env, timeoutMs: 180_000 });
    expect({
      code: fixed.code,
      stderr: fixed.stderr,
      out: fixed.code === 0 ? '' : fixed.stdout,
    }).toEqual({ code: 0, stderr: '', out: '' });
    expect(fixed.stdout).toContain('FIXED w2: started the node agent service (it was not running)');
    const list = await gtJson<{ machines: MachineJson[] }>(['machine', 'list'], { env });
    expect(list.machines.find((m) => m.name === 'w2')).toMatchObject({ state: 'connected' });
  }, 300_000);

  it('gt doctor refuses a host key that changed, with both fingerprints, for that machine only', async () => {
    const file = join(town, 'config', 'known_hosts');
    const before = readFileSync(file, 'utf8');
    // The town believes w2's address has w1's key (as if w2 had been reinstalled).
    const w1Key = w1.knownHostsLine.split(' ').slice(1).join(' ');
    writeFileSync(file, `${w1.knownHostsLine}\n[${w2.host}]:${w2.port} ${w1Key}\n`);
    try {
      const r = await gt(['doctor', '--json'], { env, timeoutMs: 180_000 });
      expect(r.code).toBe(1);
      const bad = (JSON.parse(r.stdout) as { findings: Finding[] }).findings.filter(
        (f) => f.status !== 'ok',
      );
      expect(bad).toEqual([
        expect.objectContaining({ check: 'host-key', machine: 'w2', status: 'error' }),
      ]);
      expect(bad[0]?.message).toContain(fingerprint(w1.hostKeyBlob));
      expect(bad[0]?.message).toContain(fingerprint(w2.hostKeyBlob));
    } finally {
      writeFileSync(file, before);
    }
  }, 300_000);
});
