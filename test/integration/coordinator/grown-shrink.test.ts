// The shrink pass over machines an elastic swarm grew, against real node agents (own towns, own
// tmux servers) behind a real registry: a grown machine is kept while its swarm is active, while
// it homes a rig, while it runs a session, while a polecat's clone there holds work that is not
// on origin (judged from git: a commit not pushed, an untracked file — with the reason in the dry
// run and one mail to the Mayor), and while its idle time is not up; otherwise it leaves
// federation.json, its instance is deleted and the ledger gets its end. The Compute API is the
// one thing not run here (no cloud): a recorder stands in for its delete.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  GrownShrinker,
  shrinkGrownMethod,
  MachineRegistry,
  readFederation,
  readLedger,
  updateLedger,
  writeFederation,
  type Machine,
} from '../../../coordinator/index.js';
import { ensureSatelliteRig, rigPaths, writeAgentHome } from '../../../node-agent/index.js';
import { NodeAgent, loadGrpc, type SwarmInfo } from '../../../proto/index.js';
import { makeBareRepo } from '../../helpers/git.js';
import { fleetDir, startMachine, type FleetMachine } from './fleet-helpers.js';

const LONG_AGO = new Date(Date.now() - 3_600_000).toISOString();

function grownEntry(shrinkAfterS: number | undefined): Machine {
  return {
    type: 'gcp',
    project: 'gastown-test',
    zone: 'us-central1-a',
    instance: 'wk-1',
    user: 'gastown',
    town_path: '/home/gastown/gastown',
    created_at: LONG_AGO,
    grown: {
      swarm: 'sw-1',
      template: 'wk',
      ...(shrinkAfterS === undefined ? {} : { shrink_after_s: shrinkAfterS }),
    },
  };
}

async function setup(opts: { swarmState: string; finishedAt: string }) {
  const dir = fleetDir();
  const home = await startMachine(dir, 'local');
  const g = await startMachine(dir, 'wk-1');
  onTestFinished(() => {
    for (const m of [home, g])
      try {
        execFileSync('tmux', ['-S', join(m.townRoot, 'run', 'tmux.sock'), 'kill-server'], {
          stdio: 'ignore',
        });
      } catch {
        /* no server */
      }
  });
  const grpc = await loadGrpc();
  const sockets: Record<string, string> = { local: home.socket, 'wk-1': g.socket };
  const dial = async (name: string) => {
    const path = sockets[name];
    if (path === undefined) throw new Error(`no socket for ${name}`);
    const { client, close } = grpc.connectUnix(NodeAgent, path);
    return { name, type: 'local' as const, client, close: async () => close() };
  };
  const registry = new MachineRegistry({
    machines: { local: { type: 'local' } },
    factories: { local: dial, gcp: dial },
  });
  onTestFinished(() => registry.close());
  await writeFederation(home.townRoot, {
    version: 1,
    machines: { local: { type: 'local' }, 'wk-1': grownEntry(1) },
  });
  await updateLedger(home.townRoot, () => [
    { name: 'wk-1', swarm: 'sw-1', template: 'wk', created_at: LONG_AGO },
  ]);
  const deleted: string[] = [];
  const swarm = { state: opts.swarmState, finishedAt: opts.finishedAt };
  const shrinker = new GrownShrinker({
    townRoot: home.townRoot,
    registry,
    timeoutMs: 3_000,
    swarm: async (id) => (id === 'sw-1' ? ({ id, ...swarm } as SwarmInfo) : undefined),
    compute: async () =>
      ({
        deleteInstance: async (ref: { instance: string }) => {
          deleted.push(ref.instance);
          return 'op-1';
        },
        waitForOperation: async () => undefined,
        close: async () => undefined,
      }) as never,
  });
  return { dir, home, g, shrinker, deleted, swarm };
}

const tmux = (m: FleetMachine, args: string[]) =>
  execFileSync('tmux', ['-S', join(m.townRoot, 'run', 'tmux.sock'), ...args], { stdio: 'ignore' });

describe('shrinking grown machines', () => {
  it('keeps it while anything holds it; deletes it when nothing does', async () => {
    const { dir, home, g, shrinker, deleted, swarm } = await setup({
      swarmState: 'active',
      finishedAt: '',
    });
    const outcome = async () => (await shrinker.pass(false))[0];

    expect(await outcome()).toMatchObject({ outcome: 'kept', reason: 'swarm sw-1 is active' });

    swarm.state = 'complete';
    swarm.finishedAt = new Date().toISOString();
    expect((await outcome())?.reason).toMatch(/^idle 0s of 1s after swarm sw-1 ended/);
    swarm.finishedAt = LONG_AGO;

    // A live session there (the Mayor's session name, on its own tmux server).
    mkdirSync(join(g.townRoot, 'run'), { recursive: true });
    tmux(g, ['new-session', '-d', '-s', 'gt-mayor', 'sleep', '600']);
    expect(await outcome()).toMatchObject({ outcome: 'kept', reason: 'runs session(s) gt-mayor' });
    tmux(g, ['kill-server']);

    // A rig homed there.
    await g.client.addRig({
      name: 'app',
      gitUrl: makeBareRepo(join(dir, 'origin')),
      prefix: 'app',
    });
    expect(await outcome()).toMatchObject({ outcome: 'kept', reason: 'homes rig(s) app' });
    await g.client.removeRig({ name: 'app', force: true });
    expect(deleted).toEqual([]);
    expect((await readFederation(home.townRoot)).machines['wk-1']).toBeDefined();

    const done = await outcome();
    expect(done).toMatchObject({ name: 'wk-1', swarm: 'sw-1', outcome: 'deleted' });
    expect(done?.machineMinutes).toBeGreaterThanOrEqual(60);
    expect(deleted).toEqual(['wk-1']);
    expect(Object.keys((await readFederation(home.townRoot)).machines)).toEqual(['local']);
    expect((await readLedger(home.townRoot))[0]?.deleted_at).toBeDefined();
    expect(await shrinker.pass(false)).toEqual([]);
  });

  it('without --shrink-after a grown machine is kept', async () => {
    const { home, shrinker, deleted } = await setup({
      swarmState: 'complete',
      finishedAt: LONG_AGO,
    });
    await writeFederation(home.townRoot, {
      version: 1,
      machines: { local: { type: 'local' }, 'wk-1': grownEntry(undefined) },
    });
    expect((await shrinker.pass(false))[0]).toMatchObject({
      outcome: 'kept',
      reason: 'no --shrink-after: kept until removed',
    });
    expect(deleted).toEqual([]);
  });

  it('keeps it while a polecat clone there holds work not on origin, and says so once to the Mayor', async () => {
    const { dir, home, g, shrinker, deleted } = await setup({
      swarmState: 'complete',
      finishedAt: LONG_AGO,
    });
    // A satellite of rig app (homed on local) with polecat Toast's clone, as a spawn leaves it.
    const origin = makeBareRepo(join(dir, 'origin'));
    await ensureSatelliteRig({
      townRoot: g.townRoot,
      rig: 'app',
      homeMachine: 'local',
      gitUrl: origin,
      defaultBranch: 'main',
      prefix: 'app',
    });
    const clone = join(rigPaths(g.townRoot, 'app').polecatsDir, 'Toast');
    execFileSync('git', ['clone', '-q', origin, clone]);
    await writeAgentHome({
      home: clone,
      template: 'polecat',
      facts: { town: 'fleet', rig: 'app', name: 'Toast', prefix: 'app' },
    });
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@test', ...args], {
        cwd: clone,
        stdio: 'ignore',
      });
    git('checkout', '-q', '-b', 'polecat/Toast');
    writeFileSync(join(clone, 'work.txt'), 'work\n');
    git('add', 'work.txt');
    git('commit', '-q', '-m', 'work of Toast');

    // The polecat's state says idle: only git knows the commit is not on origin.
    const dry = (await shrinker.pass(true))[0];
    expect(dry).toMatchObject({ name: 'wk-1', outcome: 'kept' });
    expect(dry?.reason).toBe(
      'unpushed work: app/Toast (1 commit(s) not on origin); swarm sw-1 is over: kept until it is pushed',
    );

    const mails: Array<{ id: string; subject: string; body: string }> = [];
    const rpc = shrinkGrownMethod(shrinker, home.townRoot, async (m) => void mails.push(m));
    const signal = new AbortController().signal;
    for (let i = 0; i < 2; i++) {
      const r = await rpc({ dryRun: false }, { signal });
      expect(r.machines[0]).toMatchObject({ outcome: 'kept' });
    }
    // The same mail id every pass: the Mayor's inbox keeps one.
    expect(new Set(mails.map((m) => m.id))).toEqual(new Set(['shrink-held-wk-1-sw-1']));
    expect(mails[0]?.subject).toBe('grown machine wk-1 kept: unpushed work');
    expect(mails[0]?.body).toMatch(/app\/Toast \(1 commit\(s\) not on origin\)/);

    // Pushed, but a new untracked file: still held.
    git('push', '-q', '-u', 'origin', 'HEAD');
    writeFileSync(join(clone, 'notes.txt'), 'more\n');
    expect((await shrinker.pass(true))[0]?.reason).toMatch(
      /^unpushed work: app\/Toast \(1 uncommitted or untracked file\(s\)\)/,
    );
    expect(deleted).toEqual([]);
    expect((await readFederation(home.townRoot)).machines['wk-1']).toBeDefined();

    // Nothing left that is not on origin: deleted.
    rmSync(join(clone, 'notes.txt'));
    expect((await shrinker.pass(false))[0]).toMatchObject({ name: 'wk-1', outcome: 'deleted' });
    expect(deleted).toEqual(['wk-1']);
  });
});
