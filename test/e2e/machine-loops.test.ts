// A worker machine's own loops: the built gt-node-agent, a real process on its own town and tmux
// server, runs the Witness patrol of the rigs it homes or carries and the Refinery of the rigs it
// homes. With no coordinator at all, it merges a queued merge request and cleans up a done
// polecat. Beside the daemon's loops (the same WitnessLoop and Refinery loop `gt up` runs, over a
// coordinator reaching both machines by gRPC on unix sockets), every polecat is patrolled by one
// loop only: the worker declines the daemon's loop requests and patrols its own polecats; the
// Overseer's machine (no loops of its own) is patrolled and merged by the daemon as before; a
// patrol by hand still reaches the worker.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startRefineryLoop } from '../../cli/refinery-loop.js';
import { WitnessLoop } from '../../cli/witness-loop.js';
import {
  beadsJson,
  fastLoops,
  installWorkerTown,
  killTmux,
  writeAgents,
  issueStatus,
  loopOf,
  startWorkerProcess,
  waitFor,
  type LogLine,
} from './loops-helpers.js';
import {
  fleetDir,
  startCoordinator,
  startMachine,
} from '../integration/coordinator/fleet-helpers.js';
import { makeBareRepo } from '../helpers/git.js';
import { upOutboxDir } from '../../node-agent/index.js';

const originLog = (bare: string): string =>
  execFileSync('git', ['-C', bare, 'log', '--format=%s', 'main']).toString();

const cleanedUp = (lines: LogLine[], address: string): number =>
  lines
    .filter((l) => l.msg === 'witness patrol')
    .flatMap((l) => l.actions ?? [])
    .filter((a) => a === `${address} cleaned-up`).length;

describe("a worker machine's own Witness and Refinery loops", () => {
  it('merge and clean up on the worker with no coordinator running', async () => {
    const dir = fleetDir();
    const { townRoot, origins } = await installWorkerTown(dir, 'w', ['app']);
    const w = await startWorkerProcess(dir, 'w', townRoot);
    const issue = ((await beadsJson(w.client, 'app', ['create', 'Work on w'])) as { id: string })
      .id;
    // A swarm of one, started on the node agent itself: no coordinator exists yet.
    const swarm = await w.client.startSwarm({ rig: 'app', issues: [issue], agent: 'scripted' });
    const address = swarm.issues[0]?.address ?? '';
    expect(address).toMatch(/^app\//);
    // The agent commits, pushes and runs `gt done` (answered by this node agent); the own
    // Refinery loop merges the queued entry and closes the issue.
    await waitFor('the merge on origin main', async () =>
      originLog(origins.app!).includes(issue) ? true : undefined,
    );
    await waitFor('the issue closed', async () =>
      (await issueStatus(w.client, 'app', issue)) === 'closed' ? true : undefined,
    );
    // The own Witness loop cleans the done polecat up: idle, session gone.
    const after = await waitFor('the polecat cleaned up', async () => {
      const p = (await w.client.listPolecats({ rig: 'app' })).polecats[0];
      return p?.status?.state === 'idle' && p.status.sessionAlive === false ? p : undefined;
    });
    expect(after.status?.address).toBe(address);
    const log = w.log();
    expect(log[0]).toMatchObject({ msg: 'node agent serving', loops: 'own' });
    expect(cleanedUp(log, address)).toBe(1);
    expect(
      log.filter((l) => l.msg === 'merge queue entry processed' && l.state === 'merged'),
    ).toHaveLength(1);
    // The report says whose loops they are and that nobody asked: they ran on their own.
    const witness = await loopOf(w.client, 'app', 'witness');
    const refinery = await loopOf(w.client, 'app', 'refinery');
    expect(witness).toMatchObject({ own: true, asked: 0, declined: 0, lastError: '' });
    expect(refinery).toMatchObject({ own: true, asked: 0, declined: 0, lastError: '' });
    expect(witness.runs).toBeGreaterThan(0);
    expect(refinery.runs).toBeGreaterThan(0);

    // "Swarm complete" for the Mayor: written here, held in the outbox toward the coordinator.
    const subject = `Swarm complete: ${swarm.id}`;
    const local = await waitFor('swarm complete in the local Mayor inbox', async () => {
      const m = (await w.client.listMail({ address: 'mayor', unreadOnly: false })).messages;
      return m.find((x) => x.subject === subject);
    });
    const queued = (): boolean => {
      const outbox = upOutboxDir(townRoot);
      if (!existsSync(outbox)) return false;
      return readdirSync(outbox).some(
        (f) => f.endsWith('.json') && readFileSync(join(outbox, f), 'utf8').includes(local.id),
      );
    };
    await waitFor('it waits in the outbox', async () => (queued() ? true : undefined));
    // The coordinator comes: the Overseer's Mayor gets it, once, with the same id.
    const home = await startMachine(dir, 'local');
    const closers: Array<() => Promise<void>> = [];
    await startCoordinator(
      home.townRoot,
      { local: home.socket, w: w.socket },
      { machineTimeoutMs: 10_000, liveness: { intervalMs: 200, graceMs: 400 }, closers },
    );
    onTestFinished(async () => {
      for (const close of closers) await close();
    });
    const mayor = async () =>
      (await home.client.listMail({ address: 'mayor', unreadOnly: false })).messages.filter(
        (m) => m.subject === subject,
      );
    await waitFor("swarm complete in the Overseer's Mayor inbox", async () =>
      (await mayor()).length > 0 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await mayor()).map((m) => m.id)).toEqual([local.id]);
  });

  it('the daemon and the worker never patrol or merge the same polecats twice', async () => {
    const dir = fleetDir();
    // The Overseer's machine: rig app homed there, its node agent runs no loops of its own.
    const home = await startMachine(dir, 'local');
    const bare = makeBareRepo(join(dir, 'app-origin'));
    await home.client.addRig({ name: 'app', gitUrl: bare, prefix: 'app' });
    fastLoops(home.townRoot, 'app');
    writeAgents(home.townRoot, dir);
    onTestFinished(() => killTmux(home.townRoot));
    // The worker: rig wrk homed there; app's polecats placed there run as its satellite.
    const { townRoot } = await installWorkerTown(dir, 'w', ['wrk']);
    const w = await startWorkerProcess(dir, 'w', townRoot);
    const closers: Array<() => Promise<void>> = [];
    const { client } = await startCoordinator(
      home.townRoot,
      { local: home.socket, w: w.socket },
      { machineTimeoutMs: 10_000, liveness: { intervalMs: 200, graceMs: 400 }, closers },
    );
    onTestFinished(async () => {
      for (const close of closers) await close();
    });
    // The daemon's loops, over the coordinator, as `gt up` runs them.
    const daemonLog: LogLine[] = [];
    const log = pino(
      { level: 'debug' },
      { write: (s: string) => void daemonLog.push(JSON.parse(s) as LogLine) },
    );
    const witnessLoop = new WitnessLoop({ client, log, tickMs: 100, defaultIntervalMs: 300 });
    witnessLoop.start();
    const refineryLoop = startRefineryLoop({ client, log, intervalMs: 300 });
    onTestFinished(async () => {
      await witnessLoop.stop();
      await refineryLoop.stop();
    });

    const create = async (title: string) =>
      ((await beadsJson(home.client, 'app', ['create', title])) as { id: string }).id;
    const onHome = await client.spawn({
      rig: 'app',
      issue: await create('On the home'),
      machine: 'local',
      agent: 'scripted',
      name: '',
    });
    const onW = await client.spawn({
      rig: 'app',
      issue: await create('On w'),
      machine: 'w',
      agent: 'scripted',
      name: '',
    });
    expect(onW.machine).toBe('w');
    // Both finish; each is cleaned up where it runs, and both issues land on origin main.
    for (const [m, c] of [
      ['local', home.client],
      ['w', w.client],
    ] as const)
      await waitFor(`the polecat on ${m} cleaned up`, async () => {
        const ps = (await c.listPolecats({ rig: 'app' })).polecats;
        return ps.length === 1 && ps[0]?.status?.state === 'idle' && !ps[0].status.sessionAlive
          ? true
          : undefined;
      });
    await waitFor('both merged', async () => {
      const main = originLog(bare);
      return main.includes(onHome.issue) && main.includes(onW.issue) ? true : undefined;
    });
    // A few more rounds of both loops.
    await new Promise((r) => setTimeout(r, 1_500));

    // w patrolled its own polecat and merged its own rig: the daemon's requests were declined.
    const wApp = await loopOf(w.client, 'app', 'witness');
    const wWrk = await loopOf(w.client, 'wrk', 'refinery');
    expect(wApp).toMatchObject({ own: true, asked: 0, lastError: '' });
    expect(wApp.runs).toBeGreaterThan(0);
    expect(wApp.declined).toBeGreaterThan(0);
    // On the rig's configured interval: the satellite took the home's Witness settings.
    expect(wApp.intervalMs).toBe(300);
    expect(wWrk).toMatchObject({ own: true, asked: 0, lastError: '' });
    expect(wWrk.runs).toBeGreaterThan(0);
    expect(wWrk.declined).toBeGreaterThan(0);
    // The home runs no loops: the daemon patrolled and merged there, as before.
    const homeApp = await loopOf(home.client, 'app', 'witness');
    expect(homeApp).toMatchObject({ own: false, runs: 0, declined: 0 });
    expect(homeApp.asked).toBeGreaterThan(0);
    expect((await loopOf(home.client, 'app', 'refinery')).asked).toBeGreaterThan(0);
    // Each polecat was cleaned up by exactly one loop: w's by w's own, the home's by the daemon.
    const homeAddress = `app/${onHome.polecat}`;
    const wAddress = `app/${onW.polecat}`;
    expect(cleanedUp(w.log(), wAddress)).toBe(1);
    expect(cleanedUp(daemonLog, wAddress)).toBe(0);
    expect(cleanedUp(daemonLog, homeAddress)).toBe(1);
    expect(cleanedUp(w.log(), homeAddress)).toBe(0);
    expect(daemonLog.some((l) => l.msg === 'witness patrol left to their own loops')).toBe(true);
    for (const id of [onHome.issue, onW.issue])
      expect(await issueStatus(home.client, 'app', id)).toBe('closed');

    // A patrol by hand (`gt witness patrol app --once`) still reaches w and counts its polecat.
    const byHand = await client.witnessPatrol({ rig: 'app' });
    expect(byHand.polecats).toBe(2);
    expect(byHand.ownLoops).toEqual([]);
    expect((await loopOf(w.client, 'app', 'witness')).asked).toBe(1);

    // w goes away: the daemon's loop does not report its polecats unchecked (w patrols them
    // itself), while a patrol by hand says it could not reach w.
    await w.stop();
    const since = daemonLog.length;
    const hand = await client.witnessPatrol({ rig: 'app' });
    expect(hand.actions.map((a) => [a.address, a.kind])).toContainEqual(['w:app', 'unchecked']);
    // Several loop patrols (every 300 ms) while w is away.
    await new Promise((r) => setTimeout(r, 2_000));
    const unchecked = daemonLog
      .slice(since)
      .flatMap((l) => l.actions ?? [])
      .filter((a) => a.includes('unchecked'));
    expect(unchecked).toEqual([]);
    const leftToW = daemonLog
      .slice(since)
      .filter((l) => l.msg === 'witness patrol left to their own loops');
    expect(leftToW.length).toBeGreaterThan(0);
  });
});
