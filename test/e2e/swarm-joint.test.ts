// The whole local loop at once, with real tmux, git and scripted polecats: a swarm of 5 issues
// where two agents edit the same lines (the second to merge conflicts, is sent back, rebases and
// merges), one breaks the test gate (rejected, reworked once, rejected again, escalated), one
// hangs (nudged 3 times, then escalated) and one merges cleanly. Twice: with the Witness and the
// Refinery run by hand in rounds (`gt witness patrol --once` / `gt refinery process`), and with
// the loops of the town daemon (`gt up`) doing it by themselves.
// At the end: origin's main has exactly the good work, beads says what happened, every mail
// expected was delivered, and once the Overseer deals with the hung worker no session is left.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import {
  createIssue,
  inboxOf,
  makeSessionTown,
  showIssue,
  tmuxSessions,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import {
  agentLogHas,
  doctorJson,
  mayorInbox,
  patrol,
  polecatHome,
  setWitnessConfig,
} from './witness-helpers.js';
import { setTestCommand } from './refinery-helpers.js';
import { join } from 'node:path';

interface SwarmIssue {
  issue: string;
  polecat: string;
  address: string;
  polecat_state: string;
  session_alive: boolean;
  beads_status: string;
  merge_state: string;
  escalated: boolean;
  settled: boolean;
}
interface SwarmJson {
  id: string;
  state: string;
  settled: number;
  issues: SwarmIssue[];
}

let t: SessionTown;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const originGit = (...args: string[]): string =>
  execFileSync('git', ['--git-dir', t.repo, ...args], { encoding: 'utf8' }).trim();

async function makeJointTown(prefix: string): Promise<SessionTown> {
  const town = await makeSessionTown(prefix, {
    'README.md': '# sample\n',
    'CHANGES.md': '# Changes\n',
    // The rig's test gate: no work may say BROKEN.
    'test.sh':
      '#!/bin/sh\nif grep -rqs BROKEN work; then echo "gate: BROKEN found in work/" >&2; exit 1; fi\n',
  });
  setTestCommand(town, 'sh test.sh');
  setWitnessConfig(town, {
    nudge_interval_ms: 2_000,
    max_nudges: 3,
    max_rework: 1,
    stuck_timeout_ms: 3_600_000,
    patrol_interval_ms: 700,
  });
  return town;
}

afterEach(async () => {
  await gt(['down'], { env: t.env });
  await gt(['stop', '--all'], { env: t.env });
  if (process.env.GT_TEST_KEEP === undefined) await t.cleanup();
});

type Driver = (swarm: string) => Promise<SwarmJson | undefined>;

/** Status of the swarm; `complete` ends the wait. */
async function swarmStatus(id: string): Promise<SwarmJson | undefined> {
  return (await gtJson<{ swarms: SwarmJson[] }>(['swarm', 'status', id, '--json'], { env: t.env }))
    .swarms[0];
}

/** The Witness and the Refinery by hand, in rounds, until the swarm is complete. */
const byHand: Driver = async (id) => {
  const deadline = Date.now() + 150_000;
  for (;;) {
    await patrol(t);
    await gtJson(['refinery', 'process', t.rig, '--json'], { env: t.env });
    const status = await swarmStatus(id);
    if (status?.state === 'complete') return status;
    if (Date.now() > deadline)
      throw new Error(`swarm not complete in time: ${JSON.stringify(status?.issues)}`);
    await sleep(700);
  }
};

/** The town daemon's loops do it all; the test only watches. */
const byDaemon: Driver = async (id) => {
  const deadline = Date.now() + 150_000;
  for (;;) {
    const status = await swarmStatus(id);
    if (status?.state === 'complete') return status;
    if (Date.now() > deadline)
      throw new Error(`swarm not complete in time: ${JSON.stringify(status?.issues)}`);
    await sleep(500);
  }
};

async function runJointSwarm(drive: Driver, manual: boolean): Promise<void> {
  const ids = {
    clean: await createIssue(t, 'Clean change'),
    first: await createIssue(t, 'Changelog entry one', 'agent-mode: conflict'),
    second: await createIssue(t, 'Changelog entry two', 'agent-mode: conflict'),
    broken: await createIssue(t, 'Breaks the gate', 'agent-mode: break'),
    hung: await createIssue(t, 'Never finishes', 'agent-mode: hang'),
  };
  const all = Object.values(ids);
  const s = await gtJson<SwarmJson>(
    ['swarm', 'start', t.rig, '--issues', all.join(','), '--agent', 'scripted', '--json'],
    { env: t.env },
  );
  expect(s.issues.map((i) => i.issue)).toEqual(all);
  const who = Object.fromEntries(
    Object.entries(ids).map(([k, id]) => [k, s.issues.find((i) => i.issue === id) as SwarmIssue]),
  ) as Record<keyof typeof ids, SwarmIssue>;

  const status = await drive(s.id);

  // Which of the pair merged first is up to the queue; the other conflicted (the refinery's
  // journal), was woken by the Witness and rebased.
  const journal = readFileSync(join(t.town, t.rig, 'refinery', 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { entry: string; to: string });
  const conflicted = journal.filter((j) => j.to === 'conflict').map((j) => j.entry);
  expect(conflicted).toHaveLength(1);
  const late = conflicted[0] === ids.first ? 'first' : 'second';
  const early = late === 'first' ? 'second' : 'first';
  expect(conflicted).toEqual([ids[late]]);
  expect(agentLogHas(t, 'rebased', ids[late])).toBe(true);
  expect(journal.some((j) => j.entry === ids.broken && j.to === 'merged')).toBe(false);

  // origin's main: exactly the good work, both changelog lines, none of the bad.
  const files = originGit('ls-tree', '-r', '--name-only', 'main').split('\n');
  expect(files.filter((f) => f.startsWith('work/')).sort()).toEqual(
    [ids.clean, ids.first, ids.second].map((id) => `work/${id}.txt`).sort(),
  );
  const changes = originGit('show', 'main:CHANGES.md');
  expect(changes.split('\n').sort()).toEqual(
    [
      '# Changes',
      `- ${ids.first}: Changelog entry one (${who.first.address})`,
      `- ${ids.second}: Changelog entry two (${who.second.address})`,
    ].sort(),
  );
  expect(changes).not.toMatch(/<<<<<<<|=======|>>>>>>>/);
  const merges = originGit('log', '--merges', '--format=%s', 'main');
  for (const id of [ids.clean, ids.first, ids.second]) expect(merges).toContain(`(${id})`);
  for (const id of [ids.broken, ids.hung]) expect(merges).not.toContain(`(${id})`);
  // The gate holds on what landed.
  const check = join(t.base, 'check');
  execFileSync('git', ['clone', '-q', t.repo, check]);
  execFileSync('sh', ['test.sh'], { cwd: check });

  // beads: merged ones closed; the rejected one back with its polecat; the hung one still held.
  for (const id of [ids.clean, ids.first, ids.second])
    expect((await showIssue(t, id)).status).toBe('closed');
  expect(await showIssue(t, ids.broken)).toMatchObject({
    status: 'in_progress',
    assignee: who.broken.address,
  });
  expect(await showIssue(t, ids.hung)).toMatchObject({
    status: 'in_progress',
    assignee: who.hung.address,
  });

  // The swarm's view of it.
  expect(
    Object.fromEntries(status?.issues.map((i) => [i.issue, [i.merge_state, i.escalated]]) ?? []),
  ).toEqual({
    [ids.clean]: ['merged', false],
    [ids.first]: ['merged', false],
    [ids.second]: ['merged', false],
    [ids.broken]: ['rejected', true],
    [ids.hung]: ['', true],
  });

  // Mail: the conflicting polecat was told to rebase, the failing one got its test output
  // twice, the hung one was nudged three times; the Mayor got both escalations and one
  // "swarm complete"; the witness got every done signal.
  const mailOf = (k: keyof typeof ids) => inboxOf(polecatHome(t, who[k].polecat));
  const subjects = (k: keyof typeof ids) => mailOf(k).map((m) => String(m.subject));
  expect(subjects(late).filter((x) => x.startsWith('Rebase required'))).toEqual([
    `Rebase required: ${ids[late]} conflicts with main`,
  ]);
  const conflictMail = mailOf(late).find((m) => String(m.subject).startsWith('Rebase'));
  expect(conflictMail?.conflict_files).toEqual(['CHANGES.md']);
  for (const k of ['clean', early, late] as const)
    expect(subjects(k)).toContain(`Merged: ${ids[k]}`);
  const rejected = mailOf('broken').filter((m) => String(m.subject).startsWith('Rejected'));
  expect(rejected).toHaveLength(2);
  for (const m of rejected) expect(String(m.body)).toContain('gate: BROKEN found in work/');
  const nudges = mailOf('hung').filter((m) => m.type === 'nudge');
  expect(nudges.map((m) => String(m.subject).match(/nudge (\d)\/3/)?.[1])).toEqual(['1', '2', '3']);
  const mayor = mayorInbox(t);
  const escalations = mayor.filter((m) => m.type === 'escalation').map((m) => m.subject);
  expect(escalations.sort()).toEqual(
    [
      `Escalation: ${who.hung.address} is stuck on ${ids.hung}`,
      `Escalation: ${who.broken.address} was sent back 2 times on ${ids.broken}`,
    ].sort(),
  );
  const complete = mayor.filter((m) => String(m.subject) === `Swarm complete: ${s.id}`);
  expect(complete).toHaveLength(1);
  expect(String(complete[0]?.body)).toContain(`- ${ids.hung}: escalated (${who.hung.address})`);
  const witness = inboxOf(join(t.town, t.rig, 'witness'));
  // (Per issue: a polecat cleaned up early may be reused for a later issue of the swarm.)
  const doneFrom = (k: keyof typeof ids) =>
    witness.filter((m) => m.type === 'done' && m.from === who[k].address && m.issue === ids[k])
      .length;
  expect([doneFrom('clean'), doneFrom(early), doneFrom(late), doneFrom('broken')]).toEqual([
    1, 1, 2, 2,
  ]);
  expect(doneFrom('hung')).toBe(0);

  // The Overseer's view: the unhandled escalations are in `gt status`.
  const st = await gt(['status'], { env: t.env });
  expect(st.stdout).toContain('2 unhandled');
  expect(st.stdout).toContain(`${who.hung.address} is stuck`);

  // Sessions: the Witness cleans up every worker but the hung one, which waits for a human.
  // (A last `gt done` may land after the round's patrol: the next patrol cleans it up.)
  await until('the Witness to clean up', async () => {
    if (manual && tmuxSessions(t).length > 1) await patrol(t);
    return tmuxSessions(t).length <= 1;
  });
  expect(tmuxSessions(t)).toEqual([`gt-alpha-${who.hung.polecat}`]);
  const killed = await gt(['kill', who.hung.address], { env: t.env });
  expect(killed.code, killed.stderr).toBe(0);
  expect(tmuxSessions(t)).toEqual([]);
  // Nothing of the hung worker's was lost: its edit is still in its clone.
  expect(
    execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
      cwd: polecatHome(t, who.hung.polecat),
      encoding: 'utf8',
    }),
  ).toContain(`work/${ids.hung}.txt`);
  // The town is consistent: the doctor finds nothing wrong.
  const doctor = await doctorJson(t);
  expect(
    doctor.findings.filter((f) => f.status === 'error'),
    JSON.stringify(doctor.findings),
  ).toEqual([]);
  // Nothing left in the queue but the rejected entry.
  const [mq] = await gtJson<Array<{ entries: Array<{ id: string; state: string }> }>>(
    ['mq', 'list', t.rig, '--json'],
    { env: t.env },
  );
  expect(
    Object.fromEntries((mq?.entries ?? []).map((e) => [e.id, e.state])),
    JSON.stringify(mq),
  ).toEqual({
    [ids.clean]: 'merged',
    [ids.first]: 'merged',
    [ids.second]: 'merged',
    [ids.broken]: 'rejected',
  });
  expect((await bd(['list', '--json'], { env: t.beadsEnv })).code).toBe(0);
}

describe('a swarm of 5: clean, conflicting pair, failing gate, hung worker', () => {
  it('by hand: exactly the good work on main, the right beads states and mail, no session', async () => {
    t = await makeJointTown('gt-joint-');
    await runJointSwarm(byHand, true);
  }, 240_000);

  it("under `gt up`: the daemon's Witness and Refinery loops get to the same end by themselves", async () => {
    t = await makeJointTown('gt-joint-up-');
    const up = await gt(['up'], { env: { ...t.env, GT_REFINERY_INTERVAL_MS: '500' } });
    expect(up.code, up.stderr).toBe(0);
    await runJointSwarm(byDaemon, false);
  }, 240_000);
});
