// The coordinator in front of several real node agents (each its own town, real gRPC on unix
// sockets): every rig and address reaches the machine that holds it, learnt from the agents'
// own listings; an explicit machine must agree; mayor/overseer stay on the coordinator's machine.
import { describe, expect, it } from 'vitest';
import { GtError } from '../../../proto/index.js';
import { addRigOn, fleetDir, startCoordinator, startMachine } from './fleet-helpers.js';

async function twoMachines() {
  const dir = fleetDir();
  const [home, b] = await Promise.all([startMachine(dir, 'local'), startMachine(dir, 'b')]);
  await Promise.all([addRigOn(home, 'alpha'), addRigOn(b, 'beta')]);
  const fleet = await startCoordinator(home.townRoot, { local: home.socket, b: b.socket });
  return { home, b, ...fleet };
}

async function failure(p: Promise<unknown>): Promise<GtError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GtError);
  return err as GtError;
}

describe('coordinator routing', () => {
  it('lists every machine’s rigs with their home, and routes by rig to that home', async () => {
    const { client } = await twoMachines();
    const rigs = await client.listRigs({});
    expect(rigs.rigs.map((r) => [r.name, r.machine])).toEqual([
      ['alpha', 'local'],
      ['beta', 'b'],
    ]);
    expect(rigs.unreachable).toEqual([]);
    // The merge queue of beta lives on b: the local machine has no such rig.
    expect((await client.listMergeQueue({ rig: 'beta' })).entries).toEqual([]);
    expect((await client.listPolecats({ rig: 'beta' })).polecats).toEqual([]);
    const status = await client.getStatus({});
    expect(status.rigs.map((r) => [r.rig?.name, r.rig?.machine])).toEqual([
      ['alpha', 'local'],
      ['beta', 'b'],
    ]);
    expect(status.machines.map((m) => [m.name, m.state])).toEqual([
      ['local', 'connected'],
      ['b', 'connected'],
    ]);
  });

  it('routes mail by address: rig roles to the rig’s home, mayor to the coordinator’s machine', async () => {
    const { client, home, b } = await twoMachines();
    await client.sendMail({ to: 'beta/witness', subject: 'to beta', body: 'x' });
    await client.sendMail({ to: 'alpha/refinery', subject: 'to alpha', body: 'x' });
    await client.sendMail({ to: 'mayor', subject: 'to the mayor', body: 'x' });
    const subjects = async (m: typeof home, address: string) =>
      (await m.client.listMail({ address })).messages.map((x) => x.subject);
    expect(await subjects(b, 'beta/witness')).toEqual(['to beta']);
    expect(await subjects(home, 'alpha/refinery')).toEqual(['to alpha']);
    expect(await subjects(home, 'mayor')).toEqual(['to the mayor']);
    expect(await subjects(b, 'mayor')).toEqual([]);
    // Reading goes the same way as sending.
    const inbox = await client.listMail({ address: 'beta/witness' });
    expect(inbox.messages.map((x) => x.subject)).toEqual(['to beta']);
  });

  it('an explicit machine wins when it agrees, and is refused naming the home when it does not', async () => {
    const { client, b } = await twoMachines();
    await client.sendMail({ to: 'b:beta/witness', subject: 'explicit', body: 'x' });
    expect((await b.client.listMail({ address: 'beta/witness' })).messages).toHaveLength(1);
    // The Mayor's inbox on b: an explicit machine reaches an address with no rig too.
    await client.sendMail({ to: 'b:mayor', subject: 'mayor on b', body: 'x' });
    expect((await b.client.listMail({ address: 'mayor' })).messages).toHaveLength(1);

    const wrong = await failure(
      client.sendMail({ to: 'local:beta/witness', subject: 's', body: 'x' }),
    );
    expect(wrong.code).toBe('GT_INVALID_ADDRESS');
    expect(wrong.message).toMatch(/rig "beta" is on machine "b"/);
    expect(wrong.hint).toMatch(/b:beta\/witness/);
    const unknown = await failure(
      client.sendMail({ to: 'zz:beta/witness', subject: 's', body: 'x' }),
    );
    expect(unknown.code).toBe('GT_MACHINE_UNKNOWN');
  });

  it('prime resolves a town path on the machine homing its rig, never a path of the caller', async () => {
    const { client, b, home } = await twoMachines();
    const there = await client.prime({ townPath: 'beta/witness' });
    expect(there).toMatchObject({ role: 'witness', rig: 'beta', townRoot: b.townRoot });
    const here = await client.prime({ townPath: '' });
    expect(here).toMatchObject({ role: 'town', townRoot: home.townRoot });
    const escape = await failure(client.prime({ townPath: '../../etc' }));
    expect(escape.code).toBe('GT_INVALID_ARGUMENT');
  });

  it('a rig added through the coordinator is routed to its machine at once; an unknown rig is the home’s "no such rig"', async () => {
    const { client, b } = await twoMachines();
    const { makeBareRepo } = await import('../../helpers/git.js');
    const bare = makeBareRepo(`${b.townRoot}-gamma`);
    const rig = await client.addRig({ name: 'gamma', gitUrl: bare, prefix: '', machine: 'b' });
    expect(rig.machine).toBe('b');
    expect((await client.listPolecats({ rig: 'gamma' })).polecats).toEqual([]);
    const removed = await client.removeRig({ name: 'gamma', force: true });
    expect(removed.machine).toBe('b');
    const none = await failure(client.listPolecats({ rig: 'nosuch' }));
    expect(none.code).toBe('GT_RIG_NOT_FOUND');
  });

  it('bd --rig runs on the machine homing the rig: its output and exit code, its database', async () => {
    const { client, home, b } = await twoMachines();
    const text = (x: Uint8Array): string => Buffer.from(x).toString('utf8');
    const made = await client.runBeads({
      rig: 'beta',
      args: ['create', 'Filed from afar', '-p', '1', '--json'],
      actor: 'overseer',
      stdin: new Uint8Array(),
    });
    expect({ code: made.exitCode, err: text(made.stderr) }).toEqual({ code: 0, err: '' });
    const id = (JSON.parse(text(made.stdout)) as { id: string }).id;
    expect(id).toMatch(/^bet-/);
    // It landed in beta's database on b (asked directly), not on the coordinator's machine.
    const onB = await b.client.runBeads({
      rig: 'beta',
      args: ['show', id, '--json'],
      actor: '',
      stdin: new Uint8Array(),
    });
    expect(JSON.parse(text(onB.stdout))).toMatchObject([{ id, title: 'Filed from afar' }]);
    const onHome = await failure(
      home.client.runBeads({ rig: 'beta', args: ['list'], actor: '', stdin: new Uint8Array() }),
    );
    expect(onHome.code).toBe('GT_RIG_NOT_FOUND');
    // bd's own failures come back as bd's exit code and words.
    const missing = await client.runBeads({
      rig: 'beta',
      args: ['show', 'bet-zzz'],
      actor: '',
      stdin: new Uint8Array(),
    });
    expect(missing.exitCode).toBe(1);
    expect(text(missing.stderr)).toMatch(/^error: .*bet-zzz/m);
  });
});
