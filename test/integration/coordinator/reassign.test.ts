// gt machine reassign, the coordinator's side: refused while the machine is connected or only
// disconnected (its state and the time until lost named) and without the daemon's watch; once
// it is lost, every issue a polecat held there goes back to ready in its rig's tracker on the
// rig's home (open, unassigned, a note naming the kept branch), the directory forgets those
// polecats, and the Mayor gets one mail. An issue whose tracker is on the lost machine itself
// stays held and is named. With the town policy on, that happens when the machine turns lost.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeBareRepo } from '../../helpers/git.js';
import type { GtError } from '../../../proto/index.js';
import {
  addRigOn,
  fleetDir,
  startCoordinator,
  startMachine,
  startSwitchableMachine,
  type Fleet,
  type FleetMachine,
} from './fleet-helpers.js';

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function failure(p: Promise<unknown>): Promise<GtError> {
  try {
    await p;
  } catch (err) {
    return err as GtError;
  }
  throw new Error('expected a refusal');
}

const text = (x: Uint8Array): string => Buffer.from(x).toString('utf8');

/** bd on `rig` through the coordinator (routed to the rig's home), as `actor`. */
async function bd(fleet: Fleet, rig: string, actor: string, ...args: string[]) {
  const r = await fleet.client.runBeads({ rig, args, actor, stdin: new Uint8Array() });
  if (r.exitCode !== 0) throw new Error(`bd ${args.join(' ')}: ${text(r.stderr)}`);
  return JSON.parse(text(r.stdout)) as unknown;
}

async function claimed(fleet: Fleet, rig: string, holder: string, title: string) {
  const { id } = (await bd(fleet, rig, 'overseer', 'create', title, '--json')) as { id: string };
  await bd(fleet, rig, holder, 'update', id, '--claim', '--json');
  return id;
}

async function issue(fleet: Fleet, rig: string, id: string) {
  const [one] = (await bd(fleet, rig, 'overseer', 'show', id, '--json')) as Array<{
    status: string;
    assignee?: string;
    notes?: string;
  }>;
  if (one === undefined) throw new Error(`no issue ${id}`);
  return one;
}

/** A polecat record on `townRoot` (rig/name), working on `issue` or idle. */
function polecatOn(townRoot: string, rig: string, name: string, issueId?: string): void {
  const home = join(townRoot, rig, 'polecats', name);
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'state.json'),
    JSON.stringify({
      version: 1,
      role: 'polecat',
      state: issueId === undefined ? 'idle' : 'working',
      ...(issueId === undefined ? {} : { issue: issueId, session: `gt-${rig}-${name}` }),
      epoch: 1,
      updated_at: new Date().toISOString(),
    }),
  );
}

async function mayorMail(home: FleetMachine) {
  return (await home.client.listMail({ address: 'mayor', unreadOnly: false })).messages;
}

/**
 * local homes rig alpha; b homes rig beta and runs beta/Nux (on bet-…) and an idle beta/Toast,
 * and alpha/Nux, placed there from alpha (on alp-…, branch polecat/Nux-1).
 */
async function fleetWithWorkOnB(reassignLost = false) {
  const dir = fleetDir();
  const home = await startMachine(dir, 'local');
  await addRigOn(home, 'alpha');
  const b = await startSwitchableMachine(dir, 'b', 'beta');
  await b.up();
  const closers: Array<() => Promise<void>> = [];
  const fleet = await startCoordinator(
    home.townRoot,
    { local: home.socket, b: b.socket },
    {
      machineTimeoutMs: 1_000,
      liveness: { intervalMs: 100, graceMs: 100, lostAfterMs: 2_500 },
      reassignLost,
      closers,
    },
  );
  const alphaIssue = await claimed(fleet, 'alpha', 'alpha/Nux', 'Work placed on b');
  const betaIssue = await claimed(fleet, 'beta', 'beta/Nux', 'Work homed on b');
  polecatOn(b.townRoot, 'beta', 'Nux', betaIssue);
  polecatOn(b.townRoot, 'beta', 'Toast');
  await fleet.client.getStatus({}); // the directory learns what runs on b, as gt status does
  fleet.directory.polecatSpawned('alpha', 'Nux', 'b', alphaIssue, 'polecat/Nux-1');
  const close = async () => {
    for (const c of closers) await c();
  };
  return { fleet, home, b, alphaIssue, betaIssue, close };
}

describe('gt machine reassign (coordinator)', () => {
  it('refused until lost; then the issues go back to ready on their rigs’ homes, once', async () => {
    const { fleet, home, b, alphaIssue, betaIssue, close } = await fleetWithWorkOnB();
    const { client, registry } = fleet;
    const stateOf = () => registry.describe().find((m) => m.name === 'b')?.state;
    try {
      await until('b connected', () => stateOf() === 'connected');
      const connected = await failure(client.reassignMachine({ machine: 'b', dryRun: false }));
      expect(connected.code).toBe('GT_CONFLICT');
      expect(connected.message).toMatch(
        /^machine b is connected \(last heartbeat .+\), not lost: it would be lost in \d+ s if it stays silent \(lost after 3 s\)$/,
      );
      expect(connected.hint).toContain('gt machine drain b');

      await b.down();
      await until('b disconnected', () => stateOf() === 'disconnected');
      const away = await failure(client.reassignMachine({ machine: 'b', dryRun: false }));
      expect(away.message).toMatch(/^machine b is disconnected .*, not lost: it would be lost in/);
      expect(away.hint).toMatch(/^wait \d+ s and run `gt machine reassign b` again/);
      expect((await issue(fleet, 'alpha', alphaIssue)).status).toBe('in_progress');

      await until('b lost', () => stateOf() === 'lost');
      const plan = await client.reassignMachine({ machine: 'b', dryRun: true });
      expect(plan.dryRun).toBe(true);
      expect(plan.issues.map((i) => [i.polecat, i.issue, i.rigHome, i.returned])).toEqual(
        expect.arrayContaining([
          ['alpha/Nux', alphaIssue, 'local', false],
          ['beta/Nux', betaIssue, 'b', false],
        ]),
      );
      expect(await issue(fleet, 'alpha', alphaIssue)).toMatchObject({
        status: 'in_progress',
        assignee: 'alpha/Nux',
      });

      const done = await client.reassignMachine({ machine: 'b', dryRun: false });
      const byPolecat = new Map(done.issues.map((i) => [i.polecat, i]));
      expect(byPolecat.get('alpha/Nux')).toMatchObject({
        issue: alphaIssue,
        rigHome: 'local',
        branch: 'polecat/Nux-1',
        returned: true,
      });
      expect(byPolecat.get('beta/Nux')?.returned).toBe(false);
      expect(byPolecat.get('beta/Nux')?.detail).toContain("rig beta's tracker is on b itself");
      expect(done.idlePolecats).toEqual(['beta/Toast']);

      const back = await issue(fleet, 'alpha', alphaIssue);
      expect(back.status).toBe('open');
      expect(back.assignee ?? '').toBe('');
      expect(back.notes).toContain('given back by `gt machine reassign b`');
      expect(back.notes).toContain('Its branch polecat/Nux-1 is kept on origin.');
      // The directory forgot what went back; what could not go back is still named.
      expect(fleet.directory.heldOn('b').map((h) => h.polecat)).toEqual(['beta/Nux']);

      const mail = await mayorMail(home);
      const reassigned = mail.filter((m) => m.subject.startsWith('machine b reassigned'));
      expect(reassigned).toHaveLength(1);
      expect(reassigned[0]?.subject).toBe('machine b reassigned: 1 issue(s) back to ready');
      expect(reassigned[0]?.body).toContain(
        `- ${alphaIssue} (alpha/Nux, branch polecat/Nux-1 kept on origin)`,
      );
      expect(reassigned[0]?.body).toContain(`- ${betaIssue} (beta/Nux): not reassigned`);
      // The lost escalation (policy off) came first and named the command.
      expect(mail.filter((m) => m.subject.startsWith('machine b lost'))[0]?.body).toContain(
        'gt machine reassign b',
      );

      // Again: nothing is given back twice (alpha/Nux is forgotten; beta's stays held).
      const again = await client.reassignMachine({ machine: 'b', dryRun: false });
      expect(again.issues.filter((i) => i.returned)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('a polecat placed on b by a spawn: b lost, its issue goes back to ready on the home', async () => {
    const dir = fleetDir();
    const home = await startMachine(dir, 'local');
    const b = await startSwitchableMachine(dir, 'b', 'beta');
    await b.up();
    onTestFinished(() => {
      for (const town of [home.townRoot, b.townRoot])
        try {
          execFileSync('tmux', ['-S', join(town, 'run', 'tmux.sock'), 'kill-server'], {
            stdio: 'ignore',
          });
        } catch {
          /* no server: nothing ran there */
        }
    });
    const scripted = {
      command: [
        process.execPath,
        join(import.meta.dirname, '..', '..', 'agents', 'scripted-agent.mjs'),
      ],
      ready_pattern: '^> $',
      ready_timeout_ms: 20_000,
      env: { GT_TEST_AGENT_MODE: 'hang', GT_TEST_AGENT_LOG: join(dir, 'agent.log') },
    };
    for (const town of [home.townRoot, b.townRoot])
      writeFileSync(join(town, 'config', 'agents.json'), JSON.stringify({ presets: { scripted } }));
    await home.client.addRig({
      name: 'app',
      gitUrl: makeBareRepo(join(dir, 'app-origin')),
      prefix: 'app',
    });
    const closers: Array<() => Promise<void>> = [];
    const fleet = await startCoordinator(
      home.townRoot,
      { local: home.socket, b: b.socket },
      {
        machineTimeoutMs: 5_000,
        liveness: { intervalMs: 100, graceMs: 100, lostAfterMs: 2_500 },
        closers,
      },
    );
    const stateOf = () => fleet.registry.describe().find((m) => m.name === 'b')?.state;
    try {
      const { id } = (await bd(fleet, 'app', 'overseer', 'create', 'Placed on b', '--json')) as {
        id: string;
      };
      const spawned = await fleet.client.spawn({
        rig: 'app',
        issue: id,
        machine: 'b',
        agent: 'scripted',
        name: '',
      });
      expect(spawned.machine).toBe('b');
      expect(await issue(fleet, 'app', id)).toMatchObject({ status: 'in_progress' });
      await until('b connected', () => stateOf() === 'connected');
      await b.down(); // b's agent is gone; its session may still run there
      await until('b lost', () => stateOf() === 'lost');
      const done = await fleet.client.reassignMachine({ machine: 'b', dryRun: false });
      expect(done.issues).toEqual([
        expect.objectContaining({
          polecat: `app/${spawned.polecat}`,
          issue: id,
          rigHome: 'local',
          branch: spawned.branch,
          returned: true,
        }),
      ]);
      const back = await issue(fleet, 'app', id);
      expect(back.status).toBe('open');
      expect(back.assignee ?? '').toBe('');
      expect(back.notes).toContain(`Its branch ${spawned.branch} is kept on origin.`);
      const ready = (await bd(fleet, 'app', 'overseer', 'ready', '--json')) as Array<{
        id: string;
      }>;
      expect(ready.map((r) => r.id)).toContain(id);
    } finally {
      for (const c of closers) await c();
    }
  });

  it('a machine that rejoins says what runs there: the directory follows with no gt status', async () => {
    const dir = fleetDir();
    const home = await startMachine(dir, 'local');
    const b = await startSwitchableMachine(dir, 'b', 'beta');
    await b.up();
    const closers: Array<() => Promise<void>> = [];
    const fleet = await startCoordinator(
      home.townRoot,
      { local: home.socket, b: b.socket },
      { liveness: { intervalMs: 100, graceMs: 100, lostAfterMs: 60_000 }, closers },
    );
    const stateOf = () => fleet.registry.describe().find((m) => m.name === 'b')?.state;
    try {
      await until('b connected', () => stateOf() === 'connected');
      await until('b listed', () => fleet.directory.rigsOn('b').includes('beta'));
      expect(fleet.directory.heldOn('b')).toEqual([]);
      polecatOn(b.townRoot, 'beta', 'Nux', 'bet-zz'); // started while b was away from us
      await b.down();
      await until('b disconnected', () => stateOf() === 'disconnected');
      await b.up();
      await until('b connected again', () => stateOf() === 'connected');
      await until('the directory follows', () => fleet.directory.heldOn('b').length > 0);
      expect(fleet.directory.heldOn('b')).toEqual([
        { polecat: 'beta/Nux', issue: 'bet-zz', branch: '' },
      ]);
    } finally {
      for (const c of closers) await c();
    }
  });

  it('an unknown machine names the known ones; without the watch it names gt up', async () => {
    const dir = fleetDir();
    const home = await startMachine(dir, 'local');
    const watched = await startCoordinator(
      home.townRoot,
      { local: home.socket },
      { liveness: { intervalMs: 100, graceMs: 100, lostAfterMs: 2_000 }, closers: [] },
    );
    const unknown = await failure(
      watched.client.reassignMachine({ machine: 'nosuch', dryRun: true }),
    );
    expect(unknown.code).toBe('GT_MACHINE_UNKNOWN');
    expect(unknown.hint).toContain('known machines: local');
    const oneShot = await startCoordinator(home.townRoot, { local: home.socket });
    const noWatch = await failure(
      oneShot.client.reassignMachine({ machine: 'local', dryRun: true }),
    );
    expect(noWatch.code).toBe('GT_DAEMON_NOT_RUNNING');
    expect(noWatch.message).toContain('only known while the town daemon watches its heartbeats');
    expect(noWatch.hint).toContain('`gt up`');
  });

  it('town policy reassign_lost: the issues go back when the machine turns lost (one mail)', async () => {
    const { fleet, home, b, alphaIssue, close } = await fleetWithWorkOnB(true);
    try {
      await until(
        'b connected',
        () => fleet.registry.describe().find((m) => m.name === 'b')?.state === 'connected',
      );
      await b.down();
      await until('the issue back', async () => {
        return (await issue(fleet, 'alpha', alphaIssue)).status === 'open';
      });
      await new Promise((r) => setTimeout(r, 500)); // more checks: still one mail
      const mail = await mayorMail(home);
      expect(mail.map((m) => m.subject)).toEqual([
        'machine b reassigned: 1 issue(s) back to ready',
      ]);
    } finally {
      await close();
    }
  });
});
