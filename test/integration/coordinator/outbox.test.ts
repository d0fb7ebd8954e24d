// Mail for a machine that cannot be reached is held in the coordinator's durable outbox: `gt send`
// says "queued" and why, the entry survives a coordinator restart, and once the machine answers
// it is delivered before newer mail, exactly once (a retry after a lost acknowledgement is not a
// duplicate); the backoff is kept between attempts; mail the target refuses for good is an
// error, not a queue entry.
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox, outboxDir } from '../../../coordinator/index.js';
import {
  fleetDir,
  startCoordinator,
  startMachine,
  startSwitchableMachine,
} from './fleet-helpers.js';

async function fleet() {
  const dir = fleetDir();
  const home = await startMachine(dir, 'local');
  const b = await startSwitchableMachine(dir, 'b', 'beta');
  const coordinator = () =>
    startCoordinator(
      home.townRoot,
      { local: home.socket, b: b.socket },
      { machineTimeoutMs: 1_500 },
    );
  return { dir, home, b, coordinator };
}

const send = (to: string, subject: string) => ({ to, from: 'overseer', subject, body: subject });

describe('the coordinator outbox', () => {
  it('queues mail for an unreachable machine, keeps it across a restart, delivers it first and once', async () => {
    const { home, b, coordinator } = await fleet();
    const first = await coordinator();
    // b is down: the mail is durable in the outbox and gt send says so.
    const queued = await first.client.sendMail(send('b:beta/witness', 'first'));
    expect(queued.state).toBe('queued');
    expect(queued.detail).toMatch(/^machine b unreachable: /);
    const files = readdirSync(outboxDir(home.townRoot)).filter((n) => n.endsWith('.json'));
    expect(files).toHaveLength(1);
    const onDisk = JSON.parse(readFileSync(join(outboxDir(home.townRoot), files[0] ?? ''), 'utf8'));
    expect(onDisk).toMatchObject({ machine: 'b', attempts: 1, message: { id: queued.id } });
    const listed = await first.client.listOutbox({ retry: false, dueOnly: false });
    expect(listed.entries.map((e) => [e.machine, e.message?.id, e.attempts])).toEqual([
      ['b', queued.id, 1],
    ]);
    expect(listed.entries[0]?.lastError).not.toBe('');
    // Doctor says what waits, for which machine and why; a broken entry is an error naming it.
    const report = await first.client.doctor({ fix: false });
    const held = report.findings.filter((f) => f.check === 'mail-outbox');
    expect(held.map((f) => f.status)).toEqual(['warning']);
    expect(held[0]?.message).toMatch(/^1 message\(s\) wait for machine b since /);
    const torn = join(outboxDir(home.townRoot), '000000000000000-torn.json');
    writeFileSync(torn, '{"version": 1, "mach');
    const broken = (await first.client.doctor({ fix: false })).findings.filter(
      (f) => f.check === 'mail-outbox' && f.status === 'error',
    );
    expect(broken.map((f) => f.message.startsWith(torn))).toEqual([true]);
    unlinkSync(torn);

    // A new coordinator (a restart) finds it; b is back: the waiting mail goes first.
    await first.registry.close();
    await b.up();
    const second = await coordinator();
    const now = await second.client.sendMail(send('b:beta/witness', 'second'));
    expect(now.state).toBe('delivered');
    expect(await b.subjects('beta/witness')).toEqual([
      [queued.id, 'first'],
      [now.id, 'second'],
    ]);
    expect((await second.client.listOutbox({ retry: false, dueOnly: false })).entries).toEqual([]);
  });

  it('a retry after a lost acknowledgement does not deliver twice', async () => {
    const { home, b, coordinator } = await fleet();
    await b.up();
    const { client, registry } = await coordinator();
    const sent = await client.sendMail(send('b:beta/witness', 'once'));
    expect(sent.state).toBe('delivered');
    // As if the coordinator died after b stored it and before the outbox entry was removed.
    const outbox = new Outbox({ townRoot: home.townRoot, registry, timeoutMs: 1_500 });
    const [msg] = (await b.subjects('beta/witness')).map(([id, subject]) => ({ id, subject }));
    await outbox.enqueue('b', {
      id: msg?.id ?? '',
      from: 'overseer',
      to: 'beta/witness',
      subject: 'once',
      body: 'once',
      createdAt: new Date().toISOString(),
      priority: 'normal',
      type: 'notice',
      threadId: '',
      replyTo: '',
    });
    const retried = await client.listOutbox({ retry: true, dueOnly: false });
    expect(retried.delivered).toEqual([sent.id]);
    expect(retried.entries).toEqual([]);
    expect(await b.subjects('beta/witness')).toEqual([[sent.id, 'once']]);
  });

  it('keeps the backoff between attempts (the daemon retries only what is due), --retry forces', async () => {
    const { b, coordinator } = await fleet();
    const { client } = await coordinator();
    const queued = await client.sendMail(send('b:beta/witness', 'later'));
    expect(queued.state).toBe('queued');
    await b.up();
    const due = await client.listOutbox({ retry: true, dueOnly: true });
    expect(due.delivered).toEqual([]); // its next attempt is ~1-2 s away
    expect(due.entries).toHaveLength(1);
    const forced = await client.listOutbox({ retry: true, dueOnly: false });
    expect(forced.delivered).toEqual([queued.id]);
    expect(await b.subjects('beta/witness')).toEqual([[queued.id, 'later']]);
  });

  it('mail the target refuses for good is an error and leaves nothing queued', async () => {
    const { home, b, coordinator } = await fleet();
    await b.up();
    const { client } = await coordinator();
    await expect(client.sendMail(send('b:beta/nosuch', 'lost'))).rejects.toThrow(/nosuch/);
    const left = readdirSync(outboxDir(home.townRoot)).filter((n) => !n.startsWith('.'));
    expect(left).toEqual([]);
  });

  it('concurrent sends to one machine are each told delivered (one drain may carry the others)', async () => {
    const { b, coordinator } = await fleet();
    await b.up();
    const { client } = await coordinator();
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.sendMail(send('b:beta/witness', `c${i}`))),
    );
    expect(sent.map((r) => r.state)).toEqual(Array(20).fill('delivered'));
    const got = await b.subjects('beta/witness');
    expect(new Set(got.map(([id]) => id))).toEqual(new Set(sent.map((r) => r.id)));
  });
});
