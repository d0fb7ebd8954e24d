// A polecat on a machine that does not home its rig: two real node agents (own towns, own tmux
// servers) behind one coordinator over gRPC unix sockets. `spawn --machine b` claims the issue on
// the home (one beads database), makes the rig's satellite on b, clones from origin there and
// starts the scripted agent, which commits and pushes; `done` through the coordinator hands the
// merge request to the home's Refinery, which merges it and closes the issue; the Witness patrol
// on b cleans the polecat up. Placement without --machine keeps the home while it has room and
// moves on when it is full; refusals name the machine and leave nothing claimed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { writeFederation } from '../../../coordinator/index.js';
import { fleetDir, startCoordinator, startMachine, type FleetMachine } from './fleet-helpers.js';

const AGENTS = join(import.meta.dirname, '..', '..', 'agents');

function agentSettings(dir: string): string {
  const scripted = {
    command: [process.execPath, join(AGENTS, 'scripted-agent.mjs')],
    ready_pattern: '^> $',
    ready_timeout_ms: 20_000,
    env: { GT_TEST_AGENT_MODE: 'normal', GT_TEST_AGENT_LOG: join(dir, 'agent.log') },
  };
  return JSON.stringify({ presets: { scripted } }, null, 2);
}

async function beadsJson(m: FleetMachine, rig: string, args: string[]): Promise<unknown> {
  const r = await m.client.runBeads({
    rig,
    args: [...args, '--json'],
    actor: 'overseer',
    stdin: new Uint8Array(),
  });
  if (r.exitCode !== 0) throw new Error(Buffer.from(r.stderr).toString());
  return JSON.parse(Buffer.from(r.stdout).toString()) as unknown;
}

async function issueOf(m: FleetMachine, rig: string, id: string) {
  const shown = (await beadsJson(m, rig, ['show', id])) as unknown;
  return (Array.isArray(shown) ? shown[0] : shown) as {
    status: string;
    assignee?: string;
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function fleet() {
  const dir = fleetDir();
  const home = await startMachine(dir, 'local');
  const b = await startMachine(dir, 'b');
  // The agents' sessions end with the test (before its directory is removed).
  onTestFinished(() => {
    for (const m of [home, b])
      try {
        execFileSync('tmux', ['-S', join(m.townRoot, 'run', 'tmux.sock'), 'kill-server'], {
          stdio: 'ignore',
        });
      } catch {
        /* no server: nothing ran there */
      }
  });
  for (const m of [home, b])
    writeFileSync(join(m.townRoot, 'config', 'agents.json'), agentSettings(dir));
  const origin = join(dir, 'app-origin');
  const { makeBareRepo } = await import('../../helpers/git.js');
  const bare = makeBareRepo(origin);
  await home.client.addRig({ name: 'app', gitUrl: bare, prefix: 'app' });
  const { client } = await startCoordinator(
    home.townRoot,
    { local: home.socket, b: b.socket },
    { machineTimeoutMs: 5_000 },
  );
  const create = async (title: string) =>
    ((await beadsJson(home, 'app', ['create', title])) as { id: string }).id;
  return { dir, home, b, bare, client, create };
}

describe('a polecat on a machine that does not home its rig', () => {
  it('claims on the home, runs on b, and its work is merged by the home refinery', async () => {
    const { home, b, bare, client, create } = await fleet();
    const issue = await create('Remote work');
    const spawned = await client.spawn({
      rig: 'app',
      issue,
      machine: 'b',
      agent: 'scripted',
      name: '',
    });
    expect(spawned.machine).toBe('b');
    expect(spawned.polecat).toBe('Nux');
    // Claimed on the home's one database, as the polecat; the clone is on b, none on the home.
    expect(await issueOf(home, 'app', issue)).toMatchObject({
      status: 'in_progress',
      assignee: 'app/Nux',
    });
    expect(existsSync(join(b.townRoot, 'app', 'polecats', 'Nux', '.git'))).toBe(true);
    expect(existsSync(join(home.townRoot, 'app', 'polecats', 'Nux'))).toBe(false);
    // b holds a satellite, not a home: it lists no rig, and names the satellite.
    const listed = await b.client.listRigs({});
    expect(listed.rigs).toEqual([]);
    expect(listed.satellites).toEqual(['app']);
    const rigs = await client.listRigs({});
    expect(rigs.rigs.map((r) => [r.name, r.machine])).toEqual([['app', 'local']]);
    // The rig's polecats wherever they run; `machine:rig` asks that machine only.
    const all = await client.listPolecats({ rig: 'app' });
    expect(all.polecats.map((p) => [p.status?.address, p.machine])).toEqual([['app/Nux', 'b']]);
    expect((await client.listPolecats({ rig: 'local:app' })).polecats).toEqual([]);
    expect((await client.listPolecats({ rig: 'b:app' })).polecats).toHaveLength(1);
    await expect(client.listPolecats({ rig: 'nope:app' })).rejects.toMatchObject({
      code: 'GT_MACHINE_UNKNOWN',
    });
    await expect(
      client.sendText({ address: 'local:app/Nux', text: 'hi', enter: false }),
    ).rejects.toMatchObject({
      code: 'GT_INVALID_ADDRESS',
      message: expect.stringMatching(/polecat app\/Nux is on machine "b"/),
    });
    // gt status covers the rigs homed on each machine: it leaves the polecat placed on b where
    // it runs; gt machine list counts it on b.
    await client.getStatus({});
    await expect(
      client.sendText({ address: 'local:app/Nux', text: 'hi', enter: false }),
    ).rejects.toMatchObject({ code: 'GT_INVALID_ADDRESS' });
    const counts = (await client.listMachines({})).machines.map((m) => [m.name, m.polecats]);
    expect(counts).toEqual(
      expect.arrayContaining([
        ['local', 0],
        ['b', 1],
      ]),
    );

    // The agent pushes its branch; then `gt done` through the coordinator hands the merge over.
    const branch = `polecat/Nux/${issue}`;
    await waitFor('the pushed branch', async () => {
      try {
        return execFileSync('git', ['-C', bare, 'rev-parse', '--verify', branch], {
          stdio: ['ignore', 'pipe', 'ignore'],
        }).toString();
      } catch {
        return undefined;
      }
    });
    await waitFor('the polecat done on b', async () => {
      const p = (await b.client.listPolecats({ rig: 'app' })).polecats[0];
      return p?.status?.state === 'done' ? p : undefined;
    });
    const done = await client.done({ address: 'app/Nux', epoch: 0n });
    expect(done.queueRecord).toBe(`app/refinery/queue/${issue}.json on local`);
    const record = JSON.parse(
      readFileSync(join(home.townRoot, 'app', 'refinery', 'queue', `${issue}.json`), 'utf8'),
    );
    expect(record).toMatchObject({ rig: 'app', issue, polecat: 'Nux', branch });
    // Again: the same request, no second mail in the refinery's inbox.
    await client.done({ address: 'app/Nux', epoch: 0n });
    const mail = await home.client.listMail({ address: 'app/refinery', unreadOnly: false });
    expect(mail.messages.filter((m) => m.type === 'merge-request')).toHaveLength(1);

    // The home's refinery merges it and closes the issue.
    await client.processMergeQueue({ rig: 'app' });
    const merged = execFileSync('git', ['-C', bare, 'log', '--format=%s', 'main']).toString();
    expect(merged).toContain(issue);
    expect((await issueOf(home, 'app', issue)).status).toBe('closed');

    // The Witness patrol of the rig reaches b: the done polecat is cleaned up there.
    const patrol = await client.witnessPatrol({ rig: 'app' });
    expect(patrol.actions.map((a) => [a.address, a.kind])).toContainEqual([
      'app/Nux',
      'cleaned-up',
    ]);
    const after = (await b.client.listPolecats({ rig: 'app' })).polecats[0];
    expect(after?.status?.state).toBe('idle');
    expect(after?.status?.sessionAlive).toBe(false);
  });

  it('places on the home while it has room, then elsewhere; refusals claim nothing', async () => {
    const { home, dir, client, create } = await fleet();
    const first = await create('Stays home');
    await writeFederation(join(dir, 'local'), {
      version: 1,
      machines: { local: { type: 'local', max_polecats: 1 }, b: { type: 'local' } },
    });
    const a = await client.spawn({
      rig: 'app',
      issue: first,
      machine: '',
      agent: 'scripted',
      name: '',
    });
    expect(a.machine).toBe('local');
    const second = await create('Goes to b');
    const c = await client.spawn({
      rig: 'app',
      issue: second,
      machine: '',
      agent: 'scripted',
      name: '',
    });
    expect(c.machine).toBe('b');
    // Names are unique for the rig fleet-wide.
    expect(c.polecat).not.toBe(a.polecat);

    // An unknown machine; a full one; a draining one: each named, nothing claimed.
    const third = await create('Refused');
    await expect(
      client.spawn({ rig: 'app', issue: third, machine: 'nope', agent: 'scripted', name: '' }),
    ).rejects.toMatchObject({
      code: 'GT_MACHINE_UNKNOWN',
      hint: expect.stringMatching(/local, b/),
    });
    await expect(
      client.spawn({ rig: 'app', issue: third, machine: 'local', agent: 'scripted', name: '' }),
    ).rejects.toMatchObject({
      code: 'GT_CONFLICT',
      message: expect.stringMatching(/local full \(1\/1\)/),
    });
    await writeFederation(join(dir, 'local'), {
      version: 1,
      machines: { local: { type: 'local', max_polecats: 1 }, b: { type: 'local', draining: true } },
    });
    await expect(
      client.spawn({ rig: 'app', issue: third, machine: '', agent: 'scripted', name: '' }),
    ).rejects.toMatchObject({
      code: 'GT_CONFLICT',
      message: expect.stringMatching(/local full \(1\/1\).*b draining|b draining.*local full/),
    });
    expect(await issueOf(home, 'app', third)).toMatchObject({ status: 'open' });
  });

  it('a spawn that fails on b gives the claim back on the home', async () => {
    const { home, b, client, create } = await fleet();
    const issue = await create('Bad agent');
    writeFileSync(
      join(b.townRoot, 'config', 'agents.json'),
      JSON.stringify({
        presets: {
          scripted: {
            command: ['/nonexistent/agent'],
            ready_pattern: '^> $',
            ready_timeout_ms: 3_000,
          },
        },
      }),
    );
    const err = await client
      .spawn({ rig: 'app', issue, machine: 'b', agent: 'scripted', name: '' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ message: expect.stringMatching(/^on machine b: /) });
    expect(await issueOf(home, 'app', issue)).toMatchObject({ status: 'open' });
    expect((await issueOf(home, 'app', issue)).assignee ?? '').toBe('');
  });

  it('gt release of a polecat on b gives its claim back on the home', async () => {
    const { home, b, client } = await fleet();
    const issue = (
      (await beadsJson(home, 'app', [
        'create',
        'Held on b',
        '--description',
        'agent-mode: hang',
      ])) as { id: string }
    ).id;
    await client.spawn({ rig: 'app', issue, machine: 'b', agent: 'scripted', name: 'Nux' });
    expect(await issueOf(home, 'app', issue)).toMatchObject({
      status: 'in_progress',
      assignee: 'app/Nux',
    });
    // Running: refused, and the claim stays.
    await expect(client.releaseIssue({ address: 'app/Nux' })).rejects.toMatchObject({
      code: 'GT_CONFLICT',
    });
    expect((await issueOf(home, 'app', issue)).status).toBe('in_progress');
    await client.killSession({ address: 'app/Nux' });
    const released = await client.releaseIssue({ address: 'app/Nux' });
    expect(released).toMatchObject({ address: 'app/Nux', issue, released: true });
    // The home's one database: open, unassigned, with a note saying why; b's polecat is idle.
    const back = (await issueOf(home, 'app', issue)) as { status: string; notes?: string };
    expect(back.status).toBe('open');
    expect((back as { assignee?: string }).assignee ?? '').toBe('');
    expect(back.notes).toContain(
      'given back by `gt release app/Nux` (the polecat ran on machine b)',
    );
    const polecats = await b.client.listPolecats({ rig: 'app' });
    expect(polecats.polecats.map((p) => [p.status?.address, p.status?.state])).toEqual([
      ['app/Nux', 'idle'],
    ]);
    // Released again: nothing held any more.
    await expect(client.releaseIssue({ address: 'app/Nux' })).rejects.toMatchObject({
      code: 'GT_NOT_FOUND',
    });
  });

  it('a swarm spreads over the machines with room, and completes once all is merged', async () => {
    const { home, b, client, create } = await fleet();
    const ids = [
      await create('One'),
      await create('Two'),
      await create('Three'),
      await create('Four'),
    ];
    const swarm = await client.startSwarm({
      rig: 'app',
      issues: ids,
      agent: 'scripted',
      maxPerMachine: 2,
    });
    expect(swarm.issues.map((i) => i.error)).toEqual(['', '', '', '']);
    const machines = swarm.issues.map((i) => i.machine).sort();
    expect(machines).toEqual(['b', 'b', 'local', 'local']);
    expect(new Set(swarm.issues.map((i) => i.polecat)).size).toBe(4);
    expect(swarm.issues.every((i) => i.error === '')).toBe(true);
    // Status names each worker's machine.
    const status = await client.listSwarms({ id: swarm.id, rig: '' });
    expect(status.swarms[0]?.issues.map((i) => i.machine).sort()).toEqual(machines);
    // The workers on b: their state comes from b.
    const onBStates = status.swarms[0]?.issues.filter((i) => i.machine === 'b') ?? [];
    expect(onBStates.map((i) => ['working', 'done'].includes(i.polecatState))).toEqual([
      true,
      true,
    ]);

    // The workers on b finish there; their `gt done` goes through the coordinator.
    const onB = swarm.issues.filter((i) => i.machine === 'b');
    await waitFor('the polecats on b done', async () => {
      const ps = (await b.client.listPolecats({ rig: 'app' })).polecats;
      return ps.filter((p) => p.status?.state === 'done').length === onB.length ? ps : undefined;
    });
    for (const w of onB) await client.done({ address: w.address, epoch: 0n });
    await waitFor('the home polecats done', async () => {
      const ps = (await home.client.listPolecats({ rig: 'app' })).polecats;
      return ps.filter((p) => p.status?.state === 'done').length === 2 ? ps : undefined;
    });
    await client.processMergeQueue({ rig: 'app' });
    for (const id of ids) expect((await issueOf(home, 'app', id)).status).toBe('closed');
    await client.witnessPatrol({ rig: 'app' });
    const done = await client.listSwarms({ id: swarm.id, rig: '' });
    expect(done.swarms[0]?.state).toBe('complete');
    const mayor = await home.client.listMail({ address: 'mayor', unreadOnly: false });
    expect(mayor.messages.filter((m) => m.subject === `Swarm complete: ${swarm.id}`)).toHaveLength(
      1,
    );
  });

  it('a swarm names the machines it skipped and the issues nobody had room for', async () => {
    const { dir, client, create } = await fleet();
    await writeFederation(join(dir, 'local'), {
      version: 1,
      machines: { local: { type: 'local', draining: true }, b: { type: 'local', max_polecats: 1 } },
    });
    const ids = [await create('A'), await create('B')];
    const swarm = await client.startSwarm({ rig: 'app', issues: ids, agent: 'scripted' });
    expect(swarm.notes).toEqual(['skipped local: draining']);
    expect(swarm.issues.map((i) => [i.machine, i.error])).toEqual([
      ['b', ''],
      ['', 'no machine had room for it'],
    ]);
  });

  it('two spawns of one issue on two machines at once: exactly one claims it', async () => {
    const { home, b, client, create } = await fleet();
    const issue = await create('Contended');
    const results = await Promise.allSettled(
      ['local', 'b'].map((machine) =>
        client.spawn({ rig: 'app', issue, machine, agent: 'scripted', name: '' }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'GT_CLAIMED',
      message: expect.stringMatching(/already claimed by app\//),
    });
    const winner = (won[0] as PromiseFulfilledResult<{ address: string; machine: string }>).value;
    expect((await issueOf(home, 'app', issue)).assignee).toBe(winner.address);
    // The loser left nothing running: one polecat session in the whole fleet.
    const sessions = [
      ...(await home.client.listSessions({ rig: 'app' })).sessions,
      // b has no satellite of app at all when its spawn lost before anything was made there.
      ...(await b.client.listSessions({ rig: '' })).sessions,
    ].filter((x) => x.address.startsWith('app/') && !x.address.endsWith('/witness'));
    expect(sessions.map((x) => x.address)).toEqual([winner.address]);
  });
});
