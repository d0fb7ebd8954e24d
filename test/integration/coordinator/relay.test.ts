// Calls from a session on a worker machine: the session's gt talks to its node agent's relay
// socket; the node agent carries each call up the Attach stream the coordinator keeps open; the
// coordinator answers allow-listed calls as if run on its own machine and refuses the rest. Mail
// is durable on the worker first: held while the coordinator is away, delivered in order, once,
// when the stream opens again.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox, answerRelay } from '../../../coordinator/index.js';
import { agentSocketPath, upOutboxDir } from '../../../node-agent/index.js';
import { Coordinator, create, encodeRequest, RelayRequestSchema } from '../../../proto/index.js';
import { agentEnv } from '../../../node-agent/sessions/index.js';
import { awayMailOf } from '../../../node-agent/mail/index.js';
import { startCoordinator } from './fleet-helpers.js';
import { startFleet, until } from './worker-helpers.js';

describe('calls relayed from a worker session', () => {
  it('answers mail, reads and bd as on the coordinator machine', async () => {
    const { w1, up, mayorMail } = await startFleet();
    await up();
    const sent = await w1.session.sendMail({
      to: 'mayor',
      from: 'w1:alpha/witness',
      subject: 'hello from w1',
      body: 'x',
    });
    expect(sent.state).toBe('delivered');
    const inbox = await mayorMail();
    expect(inbox.filter((m) => m.id === sent.id).map((m) => [m.subject, m.from])).toEqual([
      ['hello from w1', 'w1:alpha/witness'],
    ]);
    // Concurrent senders: each told its own message was delivered.
    const many = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        w1.session.sendMail({ to: 'mayor', subject: `burst ${i}`, body: 'x' }),
      ),
    );
    expect(many.map((m) => m.state)).toEqual(Array(12).fill('delivered'));
    const burst = (await mayorMail()).filter((m) => m.subject.startsWith('burst '));
    expect(new Set(burst.map((m) => m.id))).toEqual(new Set(many.map((m) => m.id)));
    expect(burst).toHaveLength(12);
    // Refused for good (no such rig): the sender is told, nothing stays queued.
    await expect(
      w1.session.sendMail({ to: 'nope/witness', subject: 's', body: 'b' }),
    ).rejects.toMatchObject({ code: 'GT_AGENT_NOT_FOUND' });
    expect((await w1.session.listOutbox({})).entries).toEqual([]);
    // Not in the worker's own mayor inbox (what a one-machine town would have done).
    expect((await w1.own.listMail({ address: 'mayor', unreadOnly: false })).messages).toEqual([]);
    // A read routed by the coordinator: the rig homed on the coordinator's machine.
    const rigs = await w1.session.listRigs({});
    expect(rigs.rigs.map((r) => [r.name, r.machine])).toEqual([['alpha', 'local']]);
    // bd against that rig's DB, wherever it is homed.
    const created = await w1.session.runBeads({
      rig: 'alpha',
      args: ['create', 'from the worker', '--json'],
      actor: 'w1:alpha/witness',
      stdin: new Uint8Array(),
    });
    expect(created.exitCode, Buffer.from(created.stderr).toString()).toBe(0);
    const ready = await w1.session.runBeads({
      rig: 'alpha',
      args: ['ready'],
      actor: 'x',
      stdin: new Uint8Array(),
    });
    expect(Buffer.from(ready.stdout).toString()).toContain('from the worker');
    // bd's own failure keeps its exit code and stderr.
    const bad = await w1.session.runBeads({
      rig: 'alpha',
      args: ['show', 'alpha-nope'],
      actor: 'x',
      stdin: new Uint8Array(),
    });
    expect(bad.exitCode).toBe(1);
    expect(Buffer.from(bad.stderr).toString()).toMatch(/error: /);
  });

  it('refuses what is not allow-listed, on the worker and on the coordinator', async () => {
    const { w1, up } = await startFleet();
    const { coordinator } = await up();
    await expect(
      w1.session.addRig({ name: 'beta', gitUrl: '/nowhere', prefix: '', machine: '' }),
    ).rejects.toMatchObject({
      code: 'GT_NOT_RELAYABLE',
      message: expect.stringContaining('AddRig cannot be asked from a worker'),
    });
    await expect(w1.session.removeMachine({ name: 'w1' } as never)).rejects.toMatchObject({
      code: 'GT_NOT_RELAYABLE',
    });
    // A stream that sends a refused method anyway gets a refusal, and nothing runs.
    let shutdowns = 0;
    const impl = { ...coordinator, shutdown: async () => ((shutdowns += 1), { stopping: true }) };
    const method = Coordinator.methods.find((m) => m.name === 'Shutdown');
    if (method === undefined) throw new Error('no Shutdown');
    const res = await answerRelay(
      impl,
      'w1',
      create(RelayRequestSchema, {
        requestId: 'r1',
        method: 'Shutdown',
        request: encodeRequest(method, {}),
      }),
      new AbortController().signal,
    );
    expect([res.ok, res.errorCode, res.requestId]).toEqual([false, 'GT_NOT_RELAYABLE', 'r1']);
    expect(res.errorHint).toMatch(/coordinator's machine/);
    expect(shutdowns).toBe(0);
  });

  it('says at once that the coordinator is not connected (no Attach stream)', async () => {
    const { w1 } = await startFleet();
    const started = Date.now();
    await expect(w1.session.getStatus({})).rejects.toMatchObject({
      code: 'GT_COORDINATOR_UNREACHABLE',
      message: 'the coordinator is not connected to machine w1 (no Attach stream)',
      hint: expect.stringContaining('gt up'),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('holds mail while the coordinator is away and delivers it in order, once, on reconnect', async () => {
    const { home, w1, up, mayorMail } = await startFleet();
    const first = await up();
    const before = await w1.session.sendMail({ to: 'mayor', subject: 'm0', body: '' });
    expect(before.state).toBe('delivered');
    await first.stop();
    await until('w1 detached', () => !w1.uplink.connected);

    const queued = [];
    for (const i of [1, 2, 3])
      queued.push(await w1.session.sendMail({ to: 'mayor', subject: `m${i}`, body: 'held' }));
    expect(queued.map((q) => q.state)).toEqual(['queued', 'queued', 'queued']);
    expect(queued[0]?.detail).toMatch(/^coordinator not connected to machine w1$/);
    expect(readdirSync(upOutboxDir(w1.townRoot)).filter((n) => n.endsWith('.json'))).toHaveLength(
      3,
    );
    const listed = await w1.session.listOutbox({});
    expect(listed.entries.map((e) => [e.message?.subject, e.machine])).toEqual([
      ['m1', 'coordinator'],
      ['m2', 'coordinator'],
      ['m3', 'coordinator'],
    ]);
    expect((await mayorMail()).map((m) => m.subject)).toEqual(['m0']);
    const outboxFinding = async () =>
      (await w1.own.doctor({ fix: false })).findings
        .filter((f) => f.check === 'mail-outbox-up')
        .map((f) => [f.status, f.message]);
    expect(await outboxFinding()).toEqual([
      ['warning', expect.stringMatching(/^3 message\(s\) wait in .*outbox-up for the coordinator/)],
    ]);
    // m1 reached the inbox once before, but its acknowledgement was lost (the stream dropped):
    // the worker still holds it and sends it again.
    const m1 = queued[0];
    if (m1 === undefined) throw new Error('no m1');
    await home.client.deliverMail({
      message: { id: m1.id, from: 'overseer', to: 'mayor', subject: 'm1', body: 'held' },
    });

    await up();
    await until('held mail delivered', async () => (await mayorMail()).length === 4);
    await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
    const inbox = await mayorMail();
    expect(inbox.map((m) => m.subject)).toEqual(['m0', 'm1', 'm2', 'm3']);
    const ids = inbox.map((m) => m.id);
    expect(new Set(ids).size).toBe(4);
    expect(ids.slice(1)).toEqual(queued.map((q) => q.id));
    expect((await w1.session.listOutbox({})).entries).toEqual([]);
    expect(await outboxFinding()).toEqual([['ok', expect.any(String)]]);
  });

  it("a session on the worker learns the relay socket's path, and nothing else of the coordinator", async () => {
    const { home, w1 } = await startFleet();
    const place = (townRoot: string) => ({
      townRoot,
      epoch: 1,
      place: {
        address: 'alpha/witness',
        role: 'witness' as const,
        rig: 'alpha',
        name: undefined,
        home: join(townRoot, 'alpha', 'witness'),
        session: 'gt-alpha-witness',
      },
    });
    const worker = agentEnv(place(w1.townRoot));
    expect(worker.GT_AGENT_SOCKET).toBe(agentSocketPath(w1.townRoot));
    const extra = Object.keys(worker).filter(
      (k) => !Object.hasOwn(agentEnv(place(home.townRoot)), k),
    );
    expect(extra).toEqual(['GT_AGENT_SOCKET']);
    // The coordinator's own machine: no relay socket, sessions keep today's behaviour.
    expect(agentEnv(place(home.townRoot)).GT_AGENT_SOCKET).toBeUndefined();
  });

  it('the coordinator outbox keeps one copy of a retried message id', async () => {
    const { home } = await startFleet();
    const { registry } = await up0(home);
    const outbox = new Outbox({ townRoot: home.townRoot, registry, timeoutMs: 500 });
    const message = {
      id: 'msg-same',
      from: 'w1:alpha/witness',
      to: 'w2:beta/witness',
      subject: 's',
      body: 'b',
      createdAt: new Date().toISOString(),
      priority: 'normal',
      type: 'notice',
      threadId: '',
      replyTo: '',
    };
    const a = await outbox.enqueue('w2', message);
    const b = await outbox.enqueue('w2', message);
    expect(b.file).toBe(a.file);
    expect(outbox.list().entries.map((e) => e.message.id)).toEqual(['msg-same']);
  });

  it("carries the worker's own loops' mail: the local Mayor's inbox forwarded once, mail for agents elsewhere", async () => {
    const { home, w1, up, mayorMail } = await startFleet();
    await up();
    // A Witness escalation written by a loop on w1 lands in w1's own Mayor inbox...
    const local = await w1.own.deliverMail({
      message: {
        id: 'esc-w1-0001',
        from: 'w1:alpha/witness',
        to: 'mayor',
        subject: 'stuck polecat on w1',
        body: 'details',
        createdAt: new Date().toISOString(),
        priority: 'high',
        type: 'escalation',
      },
    });
    expect(local.duplicate).toBe(false);
    // ...and reaches the Mayor on the coordinator's machine, with its id, once.
    await until('the escalation forwarded', async () =>
      (await mayorMail()).some((m) => m.id === 'esc-w1-0001'),
    );
    await new Promise((r) => setTimeout(r, 2_500)); // another forwarder round: no second copy
    expect((await mayorMail()).filter((m) => m.id === 'esc-w1-0001')).toHaveLength(1);
    // The Refinery's mail for an agent that is not on w1 leaves through the outbox.
    const away = awayMailOf(w1.townRoot);
    expect(away).toBeDefined();
    // Every field it was written with arrives, not only subject, body and type.
    const written = {
      id: 'merged-away-0001',
      from: 'w1:alpha/refinery',
      to: 'alpha/witness',
      subject: 'Merged: alpha-1',
      body: 'merged',
      type: 'task',
      priority: 'high' as const,
      created_at: '2026-01-02T03:04:05.000Z',
      thread_id: 'thread-alpha-1',
      epoch: 7,
      issue: 'alpha-1',
      branch: 'polecat/Nux/alpha-1',
      head: 'abc123def4567890',
      conflict_files: ['src/a.ts', 'README.md'],
    };
    await away?.(written);
    const arrived = async () =>
      (await home.client.listMail({ address: 'alpha/witness', unreadOnly: false })).messages.find(
        (m) => m.id === 'merged-away-0001',
      );
    await until('the away mail delivered', async () => (await arrived()) !== undefined);
    const wire = await arrived();
    expect(wire).toMatchObject({
      from: 'w1:alpha/refinery',
      subject: 'Merged: alpha-1',
      type: 'task',
      priority: 'high',
      createdAt: '2026-01-02T03:04:05.000Z',
      threadId: 'thread-alpha-1',
      epoch: 7n,
    });
    expect(JSON.parse(wire?.extraJson ?? '{}')).toEqual({
      issue: 'alpha-1',
      branch: 'polecat/Nux/alpha-1',
      head: 'abc123def4567890',
      conflict_files: ['src/a.ts', 'README.md'],
    });
    // On disk in the witness's inbox, one record with all of it, as the sender wrote it.
    const inbox = readFileSync(
      join(home.townRoot, 'alpha', 'witness', 'mail', 'inbox.jsonl'),
      'utf8',
    )
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((m) => m.id === 'merged-away-0001');
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({ ...written, read: false });
  });
});

async function up0(home: { townRoot: string; socket: string }) {
  return startCoordinator(home.townRoot, { local: home.socket });
}
