// Mayor swarms, plugins and the swarm doctor checks with real tmux, git and scripted polecats:
// start/status/list/cancel, the plan-oracle hook before dispatch, one "swarm complete" mail when
// every issue is closed, plugin listing, zombie sessions and stuck heartbeats found and fixed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import {
  createIssue,
  inboxOf,
  makeSessionTown,
  showIssue,
  spawn,
  tmuxSessions,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import {
  agentLogHas,
  doctorJson,
  makePlugin,
  mayorInbox,
  patrol,
  polecatHome,
  setWitnessConfig,
} from './witness-helpers.js';

interface SwarmJson {
  id: string;
  rig: string;
  state: string;
  settled: number;
  issues: Array<{
    issue: string;
    polecat: string;
    address: string;
    polecat_state: string;
    session_alive: boolean;
    beads_status: string;
    merge_state: string;
  }>;
}

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-swarm-');
  setWitnessConfig(t, { nudge_interval_ms: 3_600_000, stuck_timeout_ms: 3_600_000 });
});

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

describe('swarms', () => {
  it('start mails the plan-oracle, dispatches, and the Mayor gets one "swarm complete" mail', async () => {
    const oracle = makePlugin(t, 'plan-oracle');
    const ids = [await createIssue(t, 'One'), await createIssue(t, 'Two')];
    const s = await gtJson<SwarmJson>(
      ['swarm', 'start', t.rig, '--issues', ids.join(','), '--agent', 'scripted', '--json'],
      { env: t.env },
    );
    expect(s).toMatchObject({ rig: 'alpha', state: 'active' });
    expect(s.issues.map((i) => [i.issue, i.address])).toEqual([
      [ids[0], 'alpha/Nux'],
      [ids[1], 'alpha/Toast'],
    ]);
    expect(inboxOf(oracle).map((m) => m.subject)).toEqual([`Plan for swarm ${s.id}`]);
    const record = JSON.parse(
      readFileSync(join(t.town, 'mayor', 'swarms', `${s.id}.json`), 'utf8'),
    ) as { issues: Array<{ epoch: number }> };
    expect(record.issues.map((i) => i.epoch)).toEqual([1, 2]);
    const witness = join(t.town, 'alpha', 'witness');
    await until(
      'both done mails',
      () => inboxOf(witness).filter((m) => m.type === 'done').length === 2,
    );
    const cleaned = await patrol(t);
    expect(cleaned.actions.filter((a) => a.kind === 'cleaned-up')).toHaveLength(2);
    const status = await gtJson<{ swarms: SwarmJson[] }>(['swarm', 'status', s.id, '--json'], {
      env: t.env,
    });
    expect(
      status.swarms[0]?.issues.map((i) => [i.polecat_state, i.beads_status, i.merge_state]),
    ).toEqual([
      ['idle', 'in_progress', 'queued'],
      ['idle', 'in_progress', 'queued'],
    ]);
    expect(mayorInbox(t).filter((m) => String(m.subject).startsWith('Swarm complete'))).toEqual([]);
    // The refinery (another component) closes the issues once merged.
    for (const id of ids) expect((await bd(['close', id], { env: t.beadsEnv })).code).toBe(0);
    const done = await patrol(t);
    expect(done.actions).toContainEqual({ address: 'mayor', kind: 'swarm-complete', detail: s.id });
    await patrol(t);
    const complete = mayorInbox(t).filter((m) => String(m.subject).startsWith('Swarm complete'));
    expect(complete).toHaveLength(1);
    expect(String(complete[0]?.body)).toContain(`- ${ids[0]}: closed, merge queued (alpha/Nux)`);
    const list = await gtJson<{ swarms: SwarmJson[] }>(['swarm', 'list', '--json'], { env: t.env });
    expect(list.swarms.map((x) => [x.id, x.state, x.settled])).toEqual([[s.id, 'complete', 2]]);
    const human = await gt(['swarm', 'list'], { env: t.env });
    expect(human.stdout).toMatch(new RegExp(`${s.id}\\s+alpha\\s+complete\\s+2/2`));
  });

  it('refuses to dispatch issues that do not exist or are not open, and spawns nothing', async () => {
    const closed = await createIssue(t, 'Already done');
    expect((await bd(['close', closed], { env: t.beadsEnv })).code).toBe(0);
    const before = tmuxSessions(t).length;
    const r = await gt(['swarm', 'start', t.rig, '--issues', `al-nope,${closed}`], { env: t.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `cannot dispatch the swarm: al-nope does not exist; ${closed} is closed`,
    );
    expect(tmuxSessions(t)).toHaveLength(before);
  });

  it('cancel stops its sessions and gives the claims back', async () => {
    const id = await createIssue(t, 'Never finishes');
    const s = await gtJson<SwarmJson>(
      ['swarm', 'start', t.rig, '--ready', '5', '--max', '1', '--agent', 'scripted-hang', '--json'],
      { env: t.env },
    );
    expect(s.issues.map((i) => i.issue)).toEqual([id]);
    const session = `gt-alpha-${s.issues[0]?.polecat ?? ''}`;
    expect(tmuxSessions(t)).toContain(session);
    const human = await gt(['swarm', 'status', s.id], { env: t.env });
    expect(human.stdout).toContain(`swarm ${s.id} on alpha: active 0/1 settled`);
    const c = await gtJson<SwarmJson>(['swarm', 'cancel', s.id, '--json'], { env: t.env });
    expect(c.state).toBe('cancelled');
    expect(tmuxSessions(t)).not.toContain(session);
    expect(await showIssue(t, id)).toMatchObject({ status: 'open' });
    expect((await showIssue(t, id)).assignee ?? '').toBe('');
  });
});

describe('swarm cancel edge cases', () => {
  it('work already queued for the refinery keeps its claim; a finished swarm cannot be cancelled', async () => {
    const id = await createIssue(t, 'Finished before the cancel');
    const s = await gtJson<SwarmJson>(
      ['swarm', 'start', t.rig, '--issues', id, '--agent', 'scripted', '--json'],
      { env: t.env },
    );
    const queued = join(t.town, 'alpha', 'refinery', 'queue', `${id}.json`);
    await until('the merge queue record', () => existsSync(queued));
    expect((await gt(['swarm', 'cancel', s.id], { env: t.env })).code).toBe(0);
    expect(await showIssue(t, id)).toMatchObject({
      status: 'in_progress',
      assignee: s.issues[0]?.address,
    });
    const again = await gt(['swarm', 'cancel', s.id], { env: t.env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`swarm ${s.id} is already cancelled`);
  });
});

describe('plugins', () => {
  it('lists plugin directories with their mail, and shows one', async () => {
    makePlugin(t, 'merge-oracle');
    const list = await gtJson<{
      plugins: Array<{ name: string; unread: number; has_claude_md: boolean }>;
    }>(['plugins', t.rig, '--json'], { env: t.env });
    expect(list.plugins.map((p) => [p.name, p.unread, p.has_claude_md])).toEqual([
      ['merge-oracle', 0, true],
      ['plan-oracle', 3, true],
    ]);
    const one = await gt(['plugin', 'status', 'alpha/plan-oracle'], { env: t.env });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain('alpha/plugins/plan-oracle: none');
    expect(one.stdout).toContain('3 unread of 3');
    const missing = await gt(['plugin', 'status', 'alpha/nope'], { env: t.env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no plugin "nope" in rig alpha');
  });
});

describe('doctor swarm checks', () => {
  it('zombie sessions: a session no agent owns, a finished polecat naming a dead session', async () => {
    const sock = join(t.town, 'run', 'tmux.sock');
    execFileSync('tmux', ['-S', sock, 'new-session', '-d', '-s', 'gt-alpha-ghost', 'sleep 600']);
    const nux = join(polecatHome(t, 'Nux'), 'state.json');
    const state = JSON.parse(readFileSync(nux, 'utf8')) as Record<string, unknown>;
    writeFileSync(nux, JSON.stringify({ ...state, state: 'idle', session: 'gt-alpha-Nux' }));
    const report = await doctorJson(t);
    expect(
      report.findings.filter((f) => f.check === 'zombie-sessions').map((f) => f.message),
    ).toEqual([
      "zombie session: gt-alpha-ghost runs on the town's tmux server but no agent owns it",
      'zombie state: alpha/Nux is "idle" but still names session gt-alpha-Nux, which is gone',
    ]);
    const fixed = await doctorJson(t, true);
    expect(fixed.fixed).toEqual(
      expect.arrayContaining([
        'killed zombie session gt-alpha-ghost',
        'cleared session gt-alpha-Nux from alpha/Nux',
      ]),
    );
    expect(tmuxSessions(t)).not.toContain('gt-alpha-ghost');
    expect(
      (await doctorJson(t)).findings
        .filter((f) => f.check === 'zombie-sessions')
        .map((f) => f.status),
    ).toEqual(['ok']);
  });

  it('heartbeat health: a working polecat silent beyond the stuck threshold is reported', async () => {
    setWitnessConfig(t, { nudge_interval_ms: 3_600_000, stuck_timeout_ms: 1_000 });
    const id = await createIssue(t, 'Silent');
    const s = await spawn(t, id, 'scripted-hang');
    await until('the agent to hang', () => agentLogHas(t, 'hang', id));
    await new Promise((r) => setTimeout(r, 2_500));
    const report = await doctorJson(t);
    const stuck = report.findings.filter(
      (f) => f.check === 'heartbeat-health' && f.status === 'warning',
    );
    expect(stuck.map((f) => f.message.split(' with ')[0])).toEqual([
      `stuck: ${s.address} is working on ${id}`,
    ]);
  });
});
