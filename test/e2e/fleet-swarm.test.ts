// A swarm across a fleet: three bare Debian hosts provisioned in parallel and a git server
// container holding the rig's origin (key-authenticated git over ssh), all started at once. The
// town's git identity is the server's deploy key; the rig is homed on w1 (its beads, Refinery and
// Witness there); `gt up` runs here. Nine issues filed with plain bd go out in one swarm, three
// polecats per host, each running the scripted agent on its host with the provisioned node and
// plain `bd show` / `gt done`. At the end: origin main holds exactly the nine issues' work, every
// issue is closed, every expected mail arrived exactly once (the Witness done signals on the
// polecat's own host, the Refinery's Merged mails to each polecat and to app/witness on w1, one
// "Swarm complete" in the Mayor's inbox here), no polecat session is left on any host, and
// `gt doctor` is clean fleet-wide. No patrol or merge is run by hand: every host's node agent
// runs its own loops (w1 merges, each host patrols its polecats). A short timeline is printed.
// Setup: ./fleet-swarm-setup.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import {
  startSpreadSwarm,
  HOSTS,
  TOWN_PATH,
  doctorProblems,
  inboxOn,
  polecatSessionsOn,
  startSwarmFleet,
  swarmStatus,
  waitFor,
  type Mail,
  type Swarm,
  type SwarmFleet,
} from './fleet-swarm-setup.js';

let f: SwarmFleet | undefined;

beforeAll(async () => {
  f = await startSwarmFleet('gt-fs-');
}, 400_000);

afterAll(async () => {
  await f?.stop('fleet swarm');
});

describe('a swarm of nine issues across three provisioned hosts', () => {
  it('lands all nine through the Refinery on w1, every mail once, nothing left running, doctor clean', async () => {
    const { env, hosts, server, issues, mark } = f!;
    // The rig's Refinery on its home, w1, every second. The Witness keeps its 30 s: a faster
    // patrol would clean polecats up while the swarm still spawns, and their names be reused.
    const configFile = `${TOWN_PATH}/app/config.json`;
    const config = JSON.parse((await hosts.w1!.run(['cat', configFile])).output) as Record<
      string,
      unknown
    >;
    const fast = { ...config, merge_interval_ms: 1_000 };
    await hosts.w1!.container.copyContentToContainer([
      { content: JSON.stringify(fast, null, 2), target: configFile },
    ]);
    const { swarm, machineOf } = await startSpreadSwarm(env, issues);
    expect(new Set(swarm.issues.map((i) => i.polecat)).size).toBe(9);
    mark(`swarm ${swarm.id} started: 3 polecats on each of w1, w2, w3`);

    // gt swarm status names the machine of each worker (empty: the rig's home).
    const status = await gtJson<{ swarms: Swarm[] }>(['swarm', 'status', swarm.id], { env });
    expect(new Map(status.swarms[0]!.issues.map((i) => [i.issue, i.machine || 'w1']))).toEqual(
      machineOf,
    );

    // Nothing by hand: each host's node agent patrols the polecats running there, and w1's
    // merges the rig's queue (the daemon here leaves the three hosts to their own loops).
    let lastMerged = -1;
    const finished = await waitFor('the swarm complete', async () => {
      const s = await swarmStatus(env, swarm.id);
      const merged = s.issues.filter((i) => i.merge_state === 'merged').length;
      if (merged !== lastMerged) mark(`swarm status: ${merged}/9 merged, state ${s.state}`);
      lastMerged = merged;
      return s.state === 'complete' ? s : undefined;
    });
    expect(finished.issues.every((i) => i.escalated !== true)).toBe(true);
    mark('swarm complete');

    // Origin main has exactly the nine issues' work.
    const files = (await server.git(['ls-tree', '-r', '--name-only', 'main', 'work/']))
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(files).toEqual(issues.map((i) => `work/${i}.txt`).sort());
    for (const id of issues) {
      const shown = await bd(['--rig', 'app', 'show', id, '--json'], { env });
      const parsed = JSON.parse(shown.stdout) as { status: string } | Array<{ status: string }>;
      expect((Array.isArray(parsed) ? parsed[0] : parsed)?.status, id).toBe('closed');
    }

    // The witness done signals: once per issue, in the witness inbox of the polecat's host.
    const witnessInboxes = Object.fromEntries(
      await Promise.all(HOSTS.map(async (m) => [m, await inboxOn(hosts[m]!, 'app/witness')])),
    ) as Record<string, Mail[]>;
    for (const w of swarm.issues) {
      const host = machineOf.get(w.issue)!;
      for (const m of HOSTS) {
        const done = witnessInboxes[m]!.filter(
          (x) => x.type === 'done' && x.subject === `Done: ${w.issue}`,
        );
        expect(done.length, `done of ${w.issue} on ${m}`).toBe(m === host ? 1 : 0);
      }
      // The Refinery's Merged mail to the polecat, on its host.
      const own = await inboxOn(hosts[host]!, `app/polecats/${w.polecat}`);
      expect(own.filter((x) => x.subject === `Merged: ${w.issue}`).length, w.address).toBe(1);
      // And to the rig's Witness on w1.
      const toWitness = witnessInboxes.w1!.filter(
        (x) => x.subject === `Merged: ${w.issue} (${w.address})`,
      );
      expect(toWitness.length, `Merged ${w.issue} to app/witness`).toBe(1);
    }
    for (const m of HOSTS) {
      const ids = witnessInboxes[m]!.map((x) => x.id);
      expect(new Set(ids).size, `ids in ${m}'s witness inbox`).toBe(ids.length);
    }
    // Exactly one "Swarm complete" to the Mayor, on this machine.
    const mayor = await gtJson<{ messages?: Mail[] }>(['inbox', '--as', 'mayor'], { env });
    const complete = (mayor.messages ?? []).filter(
      (x) => x.subject === `Swarm complete: ${swarm.id}`,
    );
    expect(complete).toHaveLength(1);
    mark(`mail: 9 done signals, ${9 * 2} Merged mails, 1 Swarm complete — each once (by id)`);

    // No polecat session left on any host (each host's Witness cleans its polecats up on its
    // own patrol), and gt status says so.
    const names = swarm.issues.map((i) => i.polecat);
    for (const m of HOSTS)
      await waitFor(`no polecat session on ${m}`, async () =>
        (await polecatSessionsOn(hosts[m]!, names)).length === 0 ? true : undefined,
      );
    const fleetStatus = await gtJson<{
      rigs: Array<{ agents: Array<{ address: string; session_alive?: boolean; state: string }> }>;
    }>(['status'], { env });
    const polecats = new Set(swarm.issues.map((i) => i.address));
    const rows = fleetStatus.rigs.flatMap((r) => r.agents).filter((a) => polecats.has(a.address));
    expect(rows.filter((a) => a.session_alive === true)).toEqual([]);
    mark('no polecat session on any host');

    expect(await doctorProblems(env)).toEqual([]);
    mark('gt doctor fleet-wide: every finding ok');

    // Each host's node agent ran its own loops: w1 patrols and merges app (its home), w2 and w3
    // patrol their polecats (satellites); gt machine status says so.
    for (const m of HOSTS) {
      const st = await gt(['machine', 'status', m], { env });
      expect(st.code, st.stderr).toBe(0);
      expect(st.stdout).toMatch(/^loops: own/m);
      expect(st.stdout).toMatch(/^ {2}app witness: every 30 s, [1-9]\d* run\(s\), last /m);
      if (m === 'w1')
        expect(st.stdout).toMatch(/^ {2}app refinery: every 1 s, [1-9]\d* run\(s\), last /m);
      else expect(st.stdout).not.toMatch(/app refinery/);
    }
    mark("gt machine status: every host's node agent runs its own loops");
  }, 600_000);
});
