// Liveness from heartbeats on the Attach stream: a machine that answers them is connected (and
// gt machine list shows when it was last heard); one that goes silent turns disconnected after
// the TTL and grace (its mail waits), then lost (the Mayor gets one escalation naming what ran
// there); when it is back its heartbeats make it connected again, with no restart of anything.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Liveness } from '../../../coordinator/index.js';
import {
  fleetDir,
  startCoordinator,
  startMachine,
  startSwitchableMachine,
} from './fleet-helpers.js';

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('liveness', () => {
  it('connected on heartbeats; silent: disconnected, then lost once (escalated); back: connected', async () => {
    const dir = fleetDir();
    const home = await startMachine(dir, 'local');
    const b = await startSwitchableMachine(dir, 'b', 'beta');
    await b.up();
    const { client, registry } = await startCoordinator(
      home.townRoot,
      { local: home.socket, b: b.socket },
      { machineTimeoutMs: 1_000 },
    );
    // The directory learns what runs on b (a listing), as gt status would.
    await client.getStatus({});
    const lost: Array<[string, string]> = [];
    const rejoined: string[] = [];
    const liveness = new Liveness({
      registry,
      machines: () => registry.names(),
      intervalMs: 100,
      graceMs: 100,
      lostAfterMs: 1_500,
      onLost: async (m, since) => {
        lost.push([m, since]);
      },
      onRejoin: (m) => rejoined.push(m),
    });
    liveness.start();
    try {
      const stateOf = () => registry.describe().find((m) => m.name === 'b')?.state;
      await until('b connected by heartbeats', () => liveness.view('b').state === 'connected');
      expect(stateOf()).toBe('connected');
      const first = liveness.view('b').lastHeartbeatAt;
      await until('a later heartbeat', () => liveness.view('b').lastHeartbeatAt > first);
      const listed = await client.listMachines({});
      expect(listed.machines.find((m) => m.name === 'b')?.lastSeenAt).not.toBe('');

      await b.down();
      await until('b disconnected', () => liveness.view('b').state === 'disconnected');
      expect(stateOf()).toBe('disconnected');
      expect(registry.describe().find((m) => m.name === 'b')?.detail).toMatch(
        /^disconnected: no heartbeat for \d+ s, since \d{4}-\d\d-\d\dT[\d:.]+Z \(one expected every 0\.1 s\); lost in \d+ s unless it returns$/,
      );
      // Mail for it waits in the outbox meanwhile.
      const held = await client.sendMail({
        to: 'b:beta/witness',
        from: 'overseer',
        subject: 'while away',
        body: 'x',
      });
      expect(held.state).toBe('queued');

      await until('b lost', () => liveness.view('b').state === 'lost');
      expect(stateOf()).toBe('lost');
      await new Promise((r) => setTimeout(r, 500)); // more checks: still one escalation
      expect(lost.map(([m]) => m)).toEqual(['b']);
      expect(liveness.view('local').state).toBe('connected');

      await b.up();
      await until('b connected again', () => liveness.view('b').state === 'connected');
      expect(stateOf()).toBe('connected');
      expect(rejoined).toEqual(['b']);
      expect((await client.listOutbox({ retry: true, dueOnly: false })).delivered).toEqual([
        held.id,
      ]);
    } finally {
      await liveness.stop();
    }
  });

  it("the coordinator's own watch mails the Mayor once, naming the polecats and issues last seen there", async () => {
    const dir = fleetDir();
    const home = await startMachine(dir, 'local');
    const b = await startSwitchableMachine(dir, 'b', 'beta');
    await b.up();
    const closers: Array<() => Promise<void>> = [];
    const { client } = await startCoordinator(
      home.townRoot,
      { local: home.socket, b: b.socket },
      {
        machineTimeoutMs: 1_000,
        liveness: { intervalMs: 100, graceMs: 100, lostAfterMs: 1_200 },
        closers,
      },
    );
    // A polecat record on b, working on an issue: the escalation names both.
    const home2 = join(b.townRoot, 'beta', 'polecats', 'Nux');
    mkdirSync(home2, { recursive: true });
    writeFileSync(
      join(home2, 'state.json'),
      JSON.stringify({
        version: 1,
        role: 'polecat',
        state: 'working',
        issue: 'bet-1',
        session: 'gt-beta-Nux',
        epoch: 1,
        updated_at: new Date().toISOString(),
      }),
    );
    try {
      await client.getStatus({}); // the directory learns what runs on b
      await b.down();
      const mayor = async () =>
        (await home.client.listMail({ address: 'mayor', unreadOnly: false })).messages;
      await until('the escalation', async () => (await mayor()).length > 0);
      await new Promise((r) => setTimeout(r, 500));
      const mail = await mayor();
      expect(mail).toHaveLength(1);
      expect(mail[0]).toMatchObject({ type: 'escalation', priority: 'high' });
      expect(mail[0]?.subject).toMatch(/^machine b lost \(silent since /);
      expect(mail[0]?.body).toContain('nothing was reassigned');
      expect(mail[0]?.body).toContain('- beta/Nux (bet-1)');
      expect(mail[0]?.body).toContain('gt machine status b');
    } finally {
      for (const close of closers) await close();
    }
  });

  it('mail that waited for a machine goes, in order, as soon as it is heard again', async () => {
    const dir = fleetDir();
    const home = await startMachine(dir, 'local');
    const b = await startSwitchableMachine(dir, 'b', 'beta');
    const closers: Array<() => Promise<void>> = [];
    const { client } = await startCoordinator(
      home.townRoot,
      { local: home.socket, b: b.socket },
      {
        machineTimeoutMs: 1_000,
        liveness: { intervalMs: 100, graceMs: 100, lostAfterMs: 60_000 },
        closers,
      },
    );
    try {
      const sent: string[] = [];
      for (const n of [1, 2, 3]) {
        const r = await client.sendMail({
          to: 'b:beta/witness',
          from: 'overseer',
          subject: `while away ${n}`,
          body: 'x',
        });
        expect(r.state).toBe('queued');
        sent.push(r.id);
      }
      // Several failed attempts: the next one, by the backoff, is seconds away.
      const waiting = (await client.listOutbox({ retry: false, dueOnly: false })).entries;
      expect(waiting.map((e) => e.message?.id)).toEqual(sent);
      expect(Date.parse(waiting[0]!.nextAttemptAt) - Date.now()).toBeGreaterThan(1_000);
      // b is back: its first heartbeat sends what waits, with no retry asked for.
      await b.up();
      await until(
        'the mail on b',
        async () => (await b.subjects('beta/witness')).length === 3,
        15_000,
      );
      expect(await b.subjects('beta/witness')).toEqual(
        sent.map((id, i) => [id, `while away ${i + 1}`]),
      );
      expect((await client.listOutbox({ retry: false, dueOnly: false })).entries).toEqual([]);
    } finally {
      for (const close of closers) await close();
    }
  });
});
