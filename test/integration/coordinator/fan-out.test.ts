// Fleet-wide answers with one machine down (nothing listens on its socket) and one hung (its
// socket accepts and never answers): gt rigs / status / doctor / stop --all answer with the
// healthy machines and name the broken ones with state and reason; version skew is refused with
// the fix; cancelling a call or its deadline reaches the node agent's handler.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GtError, type CallContext } from '../../../proto/index.js';
import {
  addRigOn,
  fleetDir,
  startCoordinator,
  startHungSocket,
  startMachine,
  type AgentOverrides,
} from './fleet-helpers.js';

async function brokenFleet(doctorTimeoutMs?: number) {
  const dir = fleetDir();
  const [home, b] = await Promise.all([startMachine(dir, 'local'), startMachine(dir, 'b')]);
  await Promise.all([addRigOn(home, 'alpha'), addRigOn(b, 'beta')]);
  await startHungSocket(join(dir, 'hung.sock'));
  const fleet = await startCoordinator(
    home.townRoot,
    {
      local: home.socket,
      b: b.socket,
      down: join(dir, 'down.sock'), // nothing listens there
      hung: join(dir, 'hung.sock'),
    },
    { machineTimeoutMs: 1_500, ...(doctorTimeoutMs === undefined ? {} : { doctorTimeoutMs }) },
  );
  return { home, b, ...fleet };
}

describe('fleet-wide answers with a machine down and one hung', () => {
  it('gt rigs and gt status answer from the healthy machines and name the others', async () => {
    const { client } = await brokenFleet();
    const rigs = await client.listRigs({});
    expect(rigs.rigs.map((r) => [r.name, r.machine])).toEqual([
      ['alpha', 'local'],
      ['beta', 'b'],
    ]);
    const bad = Object.fromEntries(rigs.unreachable.map((m) => [m.name, m]));
    expect(Object.keys(bad).sort()).toEqual(['down', 'hung']);
    expect(bad.down?.state).toBe('unreachable');
    expect(bad.down?.detail).toMatch(/cannot reach|No such file|ENOENT|connect/i);
    expect(bad.hung?.state).toBe('unreachable');
    expect(bad.hung?.detail).toMatch(/did not answer within 1500 ms|timed out|deadline/i);

    const status = await client.getStatus({});
    expect(status.rigs.map((r) => r.rig?.name)).toEqual(['alpha', 'beta']);
    const states = Object.fromEntries(status.machines.map((m) => [m.name, m.state]));
    expect(states).toEqual({
      local: 'connected',
      b: 'connected',
      down: 'unreachable',
      hung: 'unreachable',
    });
  });

  it('gt doctor reports each broken machine as a finding, the others’ checks as usual', async () => {
    // The doctor's checks take longer than a listing: healthy machines get 20 s.
    const { client } = await brokenFleet(20_000);
    const report = await client.doctor({ fix: false });
    const reach = report.findings.filter((f) => f.check === 'machine-reachable');
    expect(reach.map((f) => f.machine).sort()).toEqual(['down', 'hung']);
    expect(reach.every((f) => f.status === 'error' && f.hint !== '')).toBe(true);
    const machines = new Set(report.findings.map((f) => f.machine));
    expect(machines.has('local') && machines.has('b')).toBe(true);
  });

  it('gt stop --all stops what it can and reports every machine it could not reach', async () => {
    const { client } = await brokenFleet();
    const res = await client.stopSessions({ all: true, rig: '' });
    expect(res.failures).toHaveLength(2);
    expect(res.failures.some((f) => f.startsWith('down: '))).toBe(true);
    expect(res.failures.some((f) => f.startsWith('hung: '))).toBe(true);
  });

  it('an unknown rig is not claimed missing while a machine that may home it is down', async () => {
    const { client } = await brokenFleet();
    const err = await client.listPolecats({ rig: 'gamma' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GtError);
    expect((err as GtError).code).toBe('GT_MACHINE_UNREACHABLE');
    expect((err as GtError).message).toMatch(/down could not be asked/);
    // A rig a healthy machine homes is reached all the same.
    expect((await client.listPolecats({ rig: 'beta' })).polecats).toEqual([]);
  });
});

function handshakeAt(protocolVersion: number): AgentOverrides {
  return {
    handshake: async (req) => ({
      agentVersion: `test-${protocolVersion}`,
      protocolVersion,
      machine: req.machine,
      townRoot: '',
      townName: '',
      pid: process.pid,
      hostname: 'skewed',
    }),
  };
}

describe('version skew', () => {
  it('refuses a too-old agent naming the upgrade of its node agent, and a newer one', async () => {
    // A coordinator at protocol 3: 2 is one behind (accepted), 1 too old, 4 newer.
    const dir = fleetDir();
    const [home, old, newer, behind] = await Promise.all([
      startMachine(dir, 'local', handshakeAt(3)),
      startMachine(dir, 'old', handshakeAt(1)),
      startMachine(dir, 'newer', handshakeAt(4)),
      startMachine(dir, 'behind', handshakeAt(2)),
    ]);
    const { client } = await startCoordinator(
      home.townRoot,
      {
        local: home.socket,
        old: old.socket,
        newer: newer.socket,
        behind: behind.socket,
      },
      { protocolVersion: 3 },
    );
    const rigs = await client.listRigs({});
    const bad = Object.fromEntries(rigs.unreachable.map((m) => [m.name, m]));
    expect(Object.keys(bad).sort()).toEqual(['newer', 'old']);
    expect(bad.old?.state).toBe('refused');

    const tooOld = await client
      .sendMail({ to: 'old:mayor', subject: 's', body: 'b' })
      .catch((e: unknown) => e as GtError);
    expect(tooOld).toBeInstanceOf(GtError);
    expect((tooOld as GtError).code).toBe('GT_VERSION_SKEW');
    expect((tooOld as GtError).hint).toMatch(/`gt machine upgrade old`/);
    const tooNew = await client
      .sendMail({ to: 'newer:mayor', subject: 's', body: 'b' })
      .catch((e: unknown) => e as GtError);
    expect((tooNew as GtError).hint).toMatch(/upgrade the coordinator first/);

    // One protocol behind: accepted, shown as due an upgrade.
    const info = await client.getInfo({});
    const behindInfo = info.machines.find((m) => m.name === 'behind');
    expect(behindInfo).toMatchObject({ state: 'connected', upgradeAvailable: true });
    // gt machine list / status show the refused machine's detail: it carries the fix.
    const oldInfo = info.machines.find((m) => m.name === 'old');
    expect(oldInfo).toMatchObject({ state: 'refused' });
    expect(oldInfo?.detail).toMatch(
      /\(protocol 1\); this coordinator speaks protocol 3; .*`gt machine upgrade old`/,
    );

    // gt doctor: the skew of each machine, and its clock, as findings of that machine.
    const report = await client.doctor({ fix: false });
    const of = (check: string) =>
      Object.fromEntries(
        report.findings.filter((f) => f.check === check).map((f) => [f.machine, f]),
      );
    const versions = of('agent-version');
    expect(Object.keys(versions).sort()).toEqual(['behind', 'newer', 'old']);
    expect(versions.behind).toMatchObject({ status: 'warning' });
    expect(versions.behind?.hint).toMatch(/`gt machine upgrade behind`/);
    expect(versions.old).toMatchObject({ status: 'error' });
    expect(versions.old?.hint).toMatch(/`gt machine upgrade old`/);
    expect(versions.newer?.hint).toMatch(/upgrade the coordinator first/);
    expect(of('clock-offset').behind).toMatchObject({ status: 'ok' });
  });
});

describe('gt doctor fleet checks', () => {
  it('a machine whose clock is off is a warning naming the offset; a machine in step is ok', async () => {
    const dir = fleetDir();
    const ahead: AgentOverrides = {
      report: async () => ({ now: new Date(Date.now() + 90_000).toISOString() }) as never,
    };
    const [home, b, late] = await Promise.all([
      startMachine(dir, 'local'),
      startMachine(dir, 'b'),
      startMachine(dir, 'late', ahead),
    ]);
    const { client } = await startCoordinator(
      home.townRoot,
      { local: home.socket, b: b.socket, late: late.socket },
      { doctorTimeoutMs: 20_000 },
    );
    const report = await client.doctor({ fix: false });
    const clock = Object.fromEntries(
      report.findings.filter((f) => f.check === 'clock-offset').map((f) => [f.machine, f]),
    );
    expect(Object.keys(clock).sort()).toEqual(['b', 'late']); // the coordinator's own: none
    expect(clock.b?.status).toBe('ok');
    expect(clock.late?.status).toBe('warning');
    expect(clock.late?.message).toMatch(/clock is (8|9)\d{4} ms off ours/);
    const versions = report.findings.filter((f) => f.check === 'agent-version');
    expect(versions.map((f) => [f.machine, f.status]).sort()).toEqual([
      ['b', 'ok'],
      ['late', 'ok'],
    ]);
  });
});

describe('cancellation and deadlines pass through to the node agent', () => {
  /** A node agent whose witness patrol waits until cancelled and records how it ended. */
  function waitingPatrol(seen: Array<{ reason: string; deadline: number | undefined }>) {
    return {
      witnessPatrol: (_req: unknown, ctx: CallContext) =>
        new Promise<never>((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            const reason = ctx.signal.reason as { code?: string } | undefined;
            seen.push({ reason: reason?.code ?? String(reason), deadline: ctx.deadline });
            reject(new GtError('GT_CANCELLED', 'patrol cancelled'));
          });
        }),
    } as AgentOverrides;
  }

  it('a cancelled client call cancels the handler; a deadline reaches it as a deadline', async () => {
    const dir = fleetDir();
    const seen: Array<{ reason: string; deadline: number | undefined }> = [];
    const [home, b] = await Promise.all([
      startMachine(dir, 'local'),
      startMachine(dir, 'b', waitingPatrol(seen)),
    ]);
    await addRigOn(b, 'beta');
    const { client } = await startCoordinator(home.townRoot, { local: home.socket, b: b.socket });

    const abort = new AbortController();
    const call = client.witnessPatrol({ rig: 'beta' }, { signal: abort.signal });
    await waitUntil(async () => (await b.client.listRigs({})).rigs.length === 1); // b is up
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    await expect(call).rejects.toBeInstanceOf(GtError);
    await waitUntil(async () => seen.length === 1);
    expect(seen[0]?.reason).toBe('GT_CANCELLED');

    const timed = client.witnessPatrol({ rig: 'beta' }, { timeoutMs: 1_000 });
    await expect(timed).rejects.toBeInstanceOf(GtError);
    await waitUntil(async () => seen.length === 2);
    expect(seen[1]?.deadline).toBeDefined();
    expect(seen[1]?.reason).toMatch(/GT_TIMEOUT|GT_CANCELLED/);
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
