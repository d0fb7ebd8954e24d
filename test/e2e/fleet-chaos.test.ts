// Chaos during a swarm across the fleet (the setup of ./fleet-swarm.test.ts): while nine
// polecats work on three provisioned hosts, a polecat's session on w3 is killed, the node agent
// on w2 is killed -9 (its supervisor restarts it; the sessions there live on), w3 is paused for
// longer than the disconnect TTL (seen as not connected, then connected again by itself), and the
// coordinator daemon here is stopped and started again. At the end every issue is merged or
// escalated (the killed polecat's, once, to the Mayor here), origin main holds exactly the merged
// work, no issue was claimed twice, every mail arrived once (by id), no polecat session is left,
// and after `gt doctor --fix` (the remedy the escalation names) the doctor is clean. A timeline of
// what was done and what the fleet reported is printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import { docker, type TestHost } from '../hosts/containers.js';
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

// The agents wait before working, so the faults land while every polecat is busy.
const AGENT_DELAY_MS = 45_000;
/** Longer than the default TTL (2 heartbeats of 5 s) plus grace (5 s): see coordinator/liveness.ts. */
const PAUSE_MS = 20_000;

let f: SwarmFleet | undefined;

beforeAll(async () => {
  f = await startSwarmFleet('gt-fc-', { GT_TEST_AGENT_DELAY_MS: String(AGENT_DELAY_MS) });
}, 400_000);

afterAll(async () => {
  await f?.stop('fleet chaos');
});

async function on(h: TestHost, argv: string[]): Promise<string> {
  const r = await h.run(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} on ${h.name}: ${r.output}`);
  return r.output.trim();
}

const tmux = ['tmux', '-S', `${TOWN_PATH}/run/tmux.sock`];

async function machineState(env: NodeJS.ProcessEnv, name: string): Promise<string> {
  const r = await gt(['status', '--json'], { env, timeoutMs: 120_000 });
  const s = JSON.parse(r.stdout) as { machines: Array<{ name: string; state: string }> };
  return s.machines.find((m) => m.name === name)?.state ?? 'absent';
}

interface Chaos {
  killed: { issue: string; polecat: string; address: string };
}

/** The faults, in order, each with what the fleet said about it. */
async function chaos(f: SwarmFleet, swarm: Swarm): Promise<Chaos> {
  const { env, hosts, mark } = f;
  const machineOf = (i: { machine?: string }) => i.machine || 'w1';
  // 1. A polecat's session on a remote host is killed.
  const victim = swarm.issues.find((i) => machineOf(i) === 'w3')!;
  await on(hosts.w3!, [...tmux, 'kill-session', '-t', `=gt-app-${victim.polecat}`]);
  mark(`killed the session of ${victim.address} (${victim.issue}) on w3`);

  // 2. kill -9 of the node agent on w2: restarted by its supervisor, its sessions live on.
  const w2 = hosts.w2!;
  const panes = async () =>
    on(w2, [...tmux, 'list-panes', '-a', '-F', '#{session_name} #{pane_pid}']);
  const before = {
    panes: await panes(),
    pid: await on(w2, ['cat', `${TOWN_PATH}/run/node-agent.pid`]),
  };
  await on(w2, ['kill', '-9', before.pid]);
  const pid = await waitFor('a new node agent on w2', async () => {
    const r = await w2.run(['cat', `${TOWN_PATH}/run/node-agent.pid`]);
    const p = r.output.trim();
    return r.exitCode === 0 && /^\d+$/.test(p) && p !== before.pid ? p : undefined;
  });
  expect(await panes()).toBe(before.panes);
  mark(
    `kill -9 node agent on w2 (pid ${before.pid}); supervisor started pid ${pid}; w2's sessions unchanged`,
  );

  // 3. w3 paused beyond the TTL: not connected while paused, connected again by itself.
  const w3 = hosts.w3!.container.getId();
  await docker(['pause', w3]);
  const pausedAt = Date.now();
  let seen = 'connected';
  try {
    seen = await waitFor('w3 not connected', async () => {
      const s = await machineState(env, 'w3');
      return s === 'connected' ? undefined : s;
    });
    mark(`docker pause w3: gt status says w3 ${seen}`);
    const left = PAUSE_MS - (Date.now() - pausedAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  } finally {
    await docker(['unpause', w3]);
  }
  mark(`docker unpause w3 after ${((Date.now() - pausedAt) / 1000).toFixed(1)} s`);
  expect(seen).not.toBe('connected');
  await waitFor('w3 connected again', async () =>
    (await machineState(env, 'w3')) === 'connected' ? true : undefined,
  );
  mark('gt status: w3 connected again');

  // 4. The coordinator daemon stopped and started again mid-swarm.
  expect((await gt(['down'], { env })).code).toBe(0);
  mark('gt down (coordinator daemon stopped)');
  await new Promise((r) => setTimeout(r, 3_000));
  const up = await gt(['up'], { env });
  expect({ code: up.code, stderr: up.stderr }).toEqual({ code: 0, stderr: '' });
  mark('gt up (coordinator daemon started again)');
  return { killed: { issue: victim.issue, polecat: victim.polecat, address: victim.address } };
}

const escalationsFor = (mayor: Mail[], address: string): Mail[] =>
  mayor.filter((m) => m.type === 'escalation' && m.subject.includes(address));

describe('chaos during a swarm across three provisioned hosts', () => {
  it('every issue merged or escalated, each mail once, no double claim, doctor clean after the fix', async () => {
    const { env, hosts, server, issues, mark } = f!;
    const { swarm, machineOf } = await startSpreadSwarm(env, issues);
    mark(
      `swarm ${swarm.id} started: 3 polecats on each host (agents wait ${AGENT_DELAY_MS / 1000} s)`,
    );

    const { killed } = await chaos(f!, swarm);
    // Mid-swarm, the home's doctor takes no claim held on another machine for an orphan: only
    // the killed polecat's (its session is gone) is named.
    const midway = await doctorProblems(env);
    mark(
      `gt doctor mid-swarm: ${midway.map((p) => `${p.check} on ${p.machine}`).join(', ') || 'clean'}`,
    );
    // The live polecats on w2 and w3 (satellites) are theirs, not zombies.
    expect(
      midway.filter((p) => p.check === 'zombie-sessions' || p.check === 'session-names'),
    ).toEqual([]);
    for (const p of midway.filter((x) => x.check === 'orphaned-claims'))
      expect(p.message).toContain(`${killed.issue} is in_progress, assigned to ${killed.address}`);
    const mayorInbox = async () =>
      (await gtJson<{ messages?: Mail[] }>(['inbox', '--as', 'mayor'], { env })).messages ?? [];

    // Settled: the eight others merged and cleaned up, the killed one escalated.
    const others = swarm.issues.filter((i) => i.issue !== killed.issue);
    let last = '';
    await waitFor(
      'eight merged and the crash escalated',
      async () => {
        await gt(['refinery', 'process', 'app'], { env, timeoutMs: 120_000 });
        await gt(['witness', 'patrol', 'app', '--once'], { env, timeoutMs: 120_000 });
        const s = await swarmStatus(env, swarm.id);
        const merged = s.issues.filter((i) => i.merge_state === 'merged').length;
        const escalated = escalationsFor(await mayorInbox(), killed.address).length;
        const now = `${merged}/9 merged, crash escalations ${escalated}, swarm ${s.state}`;
        if (now !== last) mark(`swarm status: ${now}`);
        last = now;
        const names = others.map((i) => i.polecat);
        const left = (
          await Promise.all(HOSTS.map((m) => polecatSessionsOn(hosts[m]!, names)))
        ).flat();
        return merged === 8 && escalated > 0 && left.length === 0 ? s : undefined;
      },
      300_000,
    );

    // Origin main: exactly the eight merged issues' work; no issue has two branches.
    const files = (await server.git(['ls-tree', '-r', '--name-only', 'main', 'work/']))
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(files).toEqual(others.map((i) => `work/${i.issue}.txt`).sort());
    const branches = (
      await server.git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/polecat/'])
    )
      .split('\n')
      .filter(Boolean);
    for (const id of issues)
      expect(branches.filter((b) => b.endsWith(`/${id}`)).length, id).toBeLessThanOrEqual(1);
    // One claim each: the swarm's polecat (the merged ones closed).
    for (const w of swarm.issues) {
      const shown = JSON.parse(
        (await bd(['--rig', 'app', 'show', w.issue, '--json'], { env })).stdout,
      ) as { status: string; assignee?: string } | Array<{ status: string; assignee?: string }>;
      const issue = Array.isArray(shown) ? shown[0]! : shown;
      expect(issue.assignee ?? '', w.issue).toBe(w.address);
      expect(issue.status, w.issue).toBe(w.issue === killed.issue ? 'in_progress' : 'closed');
    }

    // Every mail once, by id.
    const witness = Object.fromEntries(
      await Promise.all(HOSTS.map(async (m) => [m, await inboxOn(hosts[m]!, 'app/witness')])),
    ) as Record<string, Mail[]>;
    for (const w of others) {
      for (const m of HOSTS)
        expect(
          witness[m]!.filter((x) => x.type === 'done' && x.subject === `Done: ${w.issue}`).length,
          `done of ${w.issue} on ${m}`,
        ).toBe(m === machineOf.get(w.issue) ? 1 : 0);
      const own = await inboxOn(hosts[machineOf.get(w.issue)!]!, `app/polecats/${w.polecat}`);
      expect(own.filter((x) => x.subject === `Merged: ${w.issue}`).length, w.address).toBe(1);
      expect(
        witness.w1!.filter((x) => x.subject === `Merged: ${w.issue} (${w.address})`).length,
      ).toBe(1);
    }
    for (const m of HOSTS)
      expect(new Set(witness[m]!.map((x) => x.id)).size, m).toBe(witness[m]!.length);
    const mayor = await mayorInbox();
    expect(new Set(mayor.map((x) => x.id)).size).toBe(mayor.length);
    expect(escalationsFor(mayor, killed.address)).toHaveLength(1);
    mark(
      `mail: 8 done signals, 16 Merged mails, 1 escalation (${killed.address} crashed), each once by id; mayor inbox: ${mayor.map((x) => x.subject).join(' | ')}`,
    );

    // The doctor names the crashed polecat; its fix (named in the escalation) clears it.
    const sick = await doctorProblems(env);
    mark(`gt doctor: ${sick.map((p) => `${p.check} on ${p.machine}`).join(', ') || 'clean'}`);
    for (const p of sick)
      if (p.machine !== 'w3')
        expect(p, p.message).toMatchObject({
          check: 'orphaned-claims',
          machine: 'w1',
          message: expect.stringContaining(
            `${killed.issue} is in_progress, assigned to ${killed.address}`,
          ),
        });
    const fixed = await gt(['doctor', '--fix'], { env, timeoutMs: 180_000 });
    mark(
      `gt doctor --fix: ${fixed.stdout
        .split('\n')
        .filter((l) => l.startsWith('FIXED'))
        .join('; ')}`,
    );
    expect(await doctorProblems(env)).toEqual([]);
    mark('gt doctor fleet-wide: every finding ok');
  }, 600_000);
});
