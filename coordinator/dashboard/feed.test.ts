// The event feed over a small coordinator of our own (the Coordinator service's shape, answers
// from a map): changes become DashboardEvents with their one-line summaries, reads never kick the
// feed, calls that change the town do, and a reconnecting page gets what it missed.
import { describe, expect, it, vi } from 'vitest';
import {
  Coordinator,
  GtError,
  createInProcessClient,
  type DashboardEvent,
  type ImplOf,
} from '../../proto/index.js';
import { TownFeed } from './feed.js';

type Impl = ImplOf<typeof Coordinator>;

interface FakeTown {
  machineState: string;
  polecatState: string;
  mqState: string;
  swarmState: string;
  mail: Array<{ id: string; subject: string }>;
  calls: string[];
}

function fakeCoordinator(town: FakeTown): Impl {
  const unimplemented = () => {
    throw new GtError('GT_NOT_IMPLEMENTED', 'not in this fake');
  };
  const impl: Record<string, unknown> = Object.fromEntries(
    Coordinator.methods.map((m) => [m.localName, unimplemented]),
  );
  const answer = (name: string, fn: (req: never) => unknown) => {
    impl[name] = async (req: never) => {
      town.calls.push(name);
      return fn(req);
    };
  };
  answer('getInfo', () => ({ machines: [{ name: 'local', state: town.machineState }] }));
  answer('machineStatus', () => ({
    machine: { name: 'local', state: 'connected' },
    report: { loadAverage: [0.5, 0.4, 0.3], cpus: 2 },
  }));
  answer('getStatus', () => ({
    rigs: [{ rig: { name: 'alpha', machine: 'local' }, agents: [] }],
  }));
  answer('listPolecats', () => ({
    polecats: [
      {
        status: { name: 'Nux', state: town.polecatState, issue: 'al-1', sessionAlive: true },
        issueTitle: 'Fix the parser',
      },
    ],
  }));
  answer('listMergeQueue', () => ({
    rig: 'alpha',
    entries:
      town.mqState === ''
        ? []
        : [{ id: 'al-1', rig: 'alpha', polecat: 'Nux', state: town.mqState }],
  }));
  answer('listSwarms', () => ({
    swarms: [{ id: 'sw-1', rig: 'alpha', state: town.swarmState, settled: 0, issues: [{}] }],
  }));
  answer('listMail', (req: { address: string }) => ({
    messages:
      req.address === 'overseer'
        ? town.mail.map((m) => ({ ...m, to: 'overseer', from: 'mayor', type: 'escalation' }))
        : [],
  }));
  answer('sendText', () => ({ delivered: true }));
  answer('processMergeQueue', () => ({ rig: 'alpha', processed: [] }));
  answer('listOutbox', () => ({ entries: [], delivered: [] }));
  return impl as unknown as Impl;
}

/** A town with one working polecat, an active swarm and nothing in its merge queue. */
function freshTown(): FakeTown {
  return {
    machineState: 'connected',
    polecatState: 'working',
    mqState: '',
    swarmState: 'active',
    mail: [],
    calls: [],
  };
}

function setUp(options: { machineTickMs?: number } = {}) {
  const town = freshTown();
  const impl = fakeCoordinator(town);
  const feed = new TownFeed({
    client: createInProcessClient(Coordinator, impl),
    town: 'test',
    coalesceMs: 0,
    ...options,
  });
  const watched = createInProcessClient(Coordinator, feed.watch(impl));
  const events: DashboardEvent[] = [];
  feed.subscribe((e) => events.push(e));
  return { town, feed, watched, events };
}

describe('TownFeed', () => {
  it('a snapshot holds every item as the coordinator answers it', async () => {
    const { feed } = setUp();
    const s = await feed.snapshot();
    expect(s.town).toBe('test');
    expect(s.machines.map((m) => [m.machine?.name, m.machine?.polecats, m.report?.cpus])).toEqual([
      ['local', 1, 2],
    ]);
    expect(s.rigs.map((r) => r.status?.rig?.name)).toEqual(['alpha']);
    expect(s.polecats.map((p) => [p.rig, p.machine, p.info?.issueTitle])).toEqual([
      ['alpha', 'local', 'Fix the parser'],
    ]);
    expect(s.swarms.map((w) => w.state)).toEqual(['active']);
    await feed.stop();
  });

  it('changes become events with a summary; nothing changed, no event', async () => {
    const { town, feed, events } = setUp();
    await feed.snapshot();
    events.length = 0;
    await feed.refresh();
    expect(events).toEqual([]);
    town.polecatState = 'done';
    town.mqState = 'queued';
    town.mail = [{ id: 'm1', subject: 'Escalation: Nux is stuck' }];
    await feed.refresh();
    expect(events.map((e) => [e.kind, e.key, e.summary]).sort()).toEqual([
      ['mail', 'mail:overseer/m1', 'mail to overseer from mayor: Escalation: Nux is stuck'],
      ['polecat', 'polecat:alpha/Nux', 'alpha/Nux: working → done (al-1)'],
      ['rig', 'rig:alpha', 'alpha merge queue al-1: queued'],
    ]);
    events.length = 0;
    town.mqState = 'merged';
    town.swarmState = 'complete';
    town.mail = [];
    await feed.refresh();
    expect(events.map((e) => [e.kind, e.removed, e.summary]).sort()).toEqual([
      ['mail', true, ''],
      ['rig', false, 'alpha merge queue al-1: queued → merged'],
      ['swarm', false, 'swarm sw-1 on alpha: active → complete, 0/1 settled'],
    ]);
    expect(events.every((e, i) => i === 0 || e.seq === events[i - 1]!.seq + 1n)).toBe(true);
    await feed.stop();
  });

  it('reads never kick the feed; a change does, and a loop that did nothing does not', async () => {
    const { town, feed, watched, events } = setUp();
    await feed.snapshot();
    await watched.listPolecats({ rig: 'alpha' });
    await watched.processMergeQueue({ rig: 'alpha', once: false });
    await watched.listOutbox({ retry: true, dueOnly: true });
    expect(feed.scheduled).toBe(false);
    town.polecatState = 'stuck';
    await watched.sendText({ address: 'alpha/Nux', text: 'hi', enter: true });
    expect(feed.scheduled).toBe(true);
    await feed.refresh();
    expect(events.map((e) => e.summary)).toContain('alpha/Nux: working → stuck (al-1)');
    await feed.stop();
  });

  it('a call naming a rig asks about that rig only; one naming nothing asks about everything', async () => {
    const { town, feed, watched, events } = setUp();
    await feed.snapshot();
    town.calls.length = 0;
    town.polecatState = 'done';
    await watched.sendText({ address: 'alpha/Nux', text: 'hi', enter: true });
    await vi.waitFor(() =>
      expect(events.map((e) => e.summary)).toContain('alpha/Nux: working → done (al-1)'),
    );
    expect(town.calls).not.toContain('getStatus');
    expect(town.calls).toEqual(
      expect.arrayContaining(['listPolecats', 'listMergeQueue', 'listSwarms', 'listMail']),
    );
    town.calls.length = 0;
    await watched.stopSessions({ rig: '', all: true }).catch(() => undefined);
    await vi.waitFor(() => expect(town.calls).toContain('getStatus'));
    await feed.stop();
  });

  it('with nobody subscribed a change only marks the feed stale; the next snapshot is fresh', async () => {
    const town = freshTown();
    const impl = fakeCoordinator(town);
    const feed = new TownFeed({ client: createInProcessClient(Coordinator, impl), town: 't' });
    const watched = createInProcessClient(Coordinator, feed.watch(impl));
    await feed.snapshot();
    town.polecatState = 'done';
    await watched.sendText({ address: 'alpha/Nux', text: 'hi', enter: true });
    expect(feed.scheduled).toBe(false);
    const s = await feed.snapshot();
    expect(s.polecats[0]?.info?.status?.state).toBe('done');
    await feed.stop();
  });

  it('a page that reconnects gets the events it missed, or undefined when they are gone', async () => {
    const { town, feed } = setUp();
    await feed.snapshot();
    const before = feed.seq;
    town.polecatState = 'done';
    await feed.refresh();
    expect(feed.since(before)?.map((e) => e.key)).toContain('polecat:alpha/Nux');
    expect(feed.since(feed.seq)).toEqual([]);
    expect(feed.since(feed.seq + 5n)).toBeUndefined();
    await feed.stop();
  });

  it('while a page is open, a machine the registry sees go away reaches it without a full look', async () => {
    const { town, feed, events } = setUp({ machineTickMs: 10 });
    await feed.snapshot();
    town.calls.length = 0;
    town.machineState = 'unreachable';
    await vi.waitFor(() =>
      expect(events.map((e) => e.summary)).toContain('machine local: connected → unreachable'),
    );
    // Only the registry was asked: no rig, polecat or machine report.
    expect(new Set(town.calls)).toEqual(new Set(['getInfo']));
    await feed.stop();
  });
});
