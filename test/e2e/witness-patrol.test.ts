// The Witness patrol with real tmux, git and scripted polecats: nudges a hung polecat (typed into
// its pane and mailed), escalates to the Mayor once after 3 failed nudges, cleans up a clean
// done, nudges back a dirty one without killing it, ignores a stale-epoch done, escalates a crash.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import {
  createIssue,
  inboxOf,
  makeSessionTown,
  spawn,
  tmuxSessions,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import {
  agentLogHas,
  makePlugin,
  mayorInbox,
  paneOf,
  patrol,
  plantMail,
  polecatHome,
  setWitnessConfig,
  stateOf,
  type PatrolJson,
} from './witness-helpers.js';

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-witness-');
  // Nudge on every patrol without progress; escalate after 3; no stuck-swarm noise here.
  setWitnessConfig(t, {
    nudge_interval_ms: 0,
    max_nudges: 3,
    stuck_timeout_ms: 3_600_000,
    crash_grace_ms: 0,
  });
});

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

const kinds = (r: { actions: Array<{ address: string; kind: string }> }, address: string) =>
  r.actions.filter((a) => a.address === address).map((a) => a.kind);

describe('witness patrol', () => {
  it('nudges a hung polecat 3 times (pane + mail), then escalates to the Mayor exactly once', async () => {
    const oracle = makePlugin(t, 'debug-oracle');
    const id = await createIssue(t, 'Hang forever');
    const s = await spawn(t, id, 'scripted-hang', 'Nux');
    await until('the agent to hang', () => agentLogHas(t, 'hang', id));
    const reports = [];
    for (let i = 0; i < 7; i++) reports.push(await patrol(t));
    expect(reports.map((r) => kinds(r, s.address).join(','))).toEqual([
      '',
      'nudged',
      'nudged',
      'nudged',
      'escalated',
      '',
      '',
    ]);
    const nudges = inboxOf(polecatHome(t, 'Nux')).filter((m) => m.type === 'nudge');
    expect(nudges.map((m) => m.epoch)).toEqual([1, 1, 1]);
    expect(String(nudges[0]?.body)).toContain('nudge 1/3');
    await until('the nudge typed into the pane', () =>
      paneOf(t, s.session).includes('[gt witness] no progress on'),
    );
    const escalations = mayorInbox(t).filter((m) => m.type === 'escalation');
    expect(escalations).toHaveLength(1);
    expect(escalations[0]).toMatchObject({ from: 'alpha/witness', to: 'mayor', epoch: 1 });
    expect(String(escalations[0]?.subject)).toBe(`Escalation: ${s.address} is stuck on ${id}`);
    expect(inboxOf(oracle).map((m) => m.subject)).toEqual([`Worker stuck: ${s.address} on ${id}`]);
    expect(tmuxSessions(t)).toContain(s.session); // the Witness escalates, it does not kill
    // Unhandled escalations show in `gt status` (the Overseer's view).
    const st = await gt(['status'], { env: t.env });
    expect(st.stdout).toContain("Escalations (1 unhandled in the Mayor's inbox");
    expect(st.stdout).toContain(`Escalation: ${s.address} is stuck on ${id}`);
    const stJson = await gtJson<{ escalations: Array<{ from: string }> }>(['status', '--json'], {
      env: t.env,
    });
    expect(stJson.escalations.map((e) => e.from)).toEqual(['alpha/witness']);
  });

  it('a clean done: the session is killed, the polecat idle, the done mail read', async () => {
    const id = await createIssue(t, 'Finish cleanly');
    const s = await spawn(t, id, 'scripted', 'Toast');
    const witness = join(t.town, 'alpha', 'witness');
    await until('the done mail', () => inboxOf(witness).some((m) => m.from === s.address));
    const r = await patrol(t);
    expect(kinds(r, s.address)).toEqual(['cleaned-up']);
    expect(tmuxSessions(t)).not.toContain(s.session);
    expect(stateOf(t, 'Toast')).toMatchObject({ state: 'idle' });
    expect(stateOf(t, 'Toast').session).toBeUndefined();
    expect(inboxOf(witness).find((m) => m.from === s.address)?.read).toBe(true);
  });

  it('work the refinery sends back wakes the idle polecat once per mail; stale mail only gets read', async () => {
    const s = { address: 'alpha/Toast', session: 'gt-alpha-Toast' };
    const { epoch, branch } = stateOf(t, 'Toast') as { epoch: number; branch: string };
    const witness = join(t.town, 'alpha', 'witness');
    const issue = String(inboxOf(witness).find((m) => m.from === s.address)?.issue);
    const sendback = (id: string, fields: Record<string, unknown>) => ({
      id,
      from: 'alpha/refinery',
      to: s.address,
      subject: `Rejected: ${issue} failed the test gate`,
      body: 'Output (tail):\nnot ok 1 - greets',
      created_at: new Date().toISOString(),
      read: false,
      type: 'task',
      priority: 'high',
      issue,
      branch,
      ...fields,
    });
    // An old epoch's mail and one for an issue Toast does not hold: read, nothing started.
    plantMail(polecatHome(t, 'Toast'), sendback('sendback-old', { epoch: epoch - 1 }));
    plantMail(
      polecatHome(t, 'Toast'),
      sendback('sendback-other', { epoch: epoch + 1, issue: 'al-zzz' }),
    );
    const stale = await patrol(t);
    expect(kinds(stale, s.address)).toEqual(['stale-rework']);
    expect(tmuxSessions(t)).not.toContain(s.session);
    expect(
      inboxOf(polecatHome(t, 'Toast'))
        .filter((m) => String(m.id).startsWith('sendback-'))
        .map((m) => m.read),
    ).toEqual([true, true]);
    // The real thing: the session comes back on the same clone, branch and epoch with the mail —
    // but not while the polecat is asleep (`gt sleep`): the mail waits for `gt wake`.
    plantMail(polecatHome(t, 'Toast'), sendback('sendback-now', { epoch }));
    expect((await gt(['sleep', s.address], { env: t.env })).code).toBe(0);
    expect(kinds(await patrol(t), s.address)).toEqual([]);
    expect(tmuxSessions(t)).not.toContain(s.session);
    expect((await gt(['wake', s.address], { env: t.env })).code).toBe(0);
    const woken = await patrol(t);
    expect(woken.actions.filter((a) => a.address === s.address)).toEqual([
      {
        address: s.address,
        kind: 'rework',
        detail: `rework 1/2 on ${issue}: Rejected: ${issue} failed the test gate`,
      },
    ]);
    expect(stateOf(t, 'Toast')).toMatchObject({ state: 'working', issue, epoch, branch });
    // The scripted agent retries (attempt 2), pushes and signals done again.
    await until('the retry', () => agentLogHas(t, 'retry', issue));
    await until('a second done mail', () =>
      inboxOf(witness).some((m) => m.from === s.address && m.read !== true),
    );
    expect(kinds(await patrol(t), s.address)).toEqual(['cleaned-up']);
    expect(tmuxSessions(t)).not.toContain(s.session);
  });

  it('a dirty done is nudged back, not killed; a stale-epoch done is ignored', async () => {
    const id = await createIssue(t, 'Finish, then keep editing');
    const s = await spawn(t, id, 'scripted', 'Capable');
    const witness = join(t.town, 'alpha', 'witness');
    await until('the done mail', () => inboxOf(witness).some((m) => m.from === s.address));
    // The polecat kept editing after `gt done`: the Witness's pre-kill check must catch it.
    writeFileSync(join(polecatHome(t, 'Capable'), 'after-done.txt'), 'not committed\n');
    const r = await patrol(t);
    expect(kinds(r, s.address)).toEqual(['done-dirty']);
    expect(r.actions.find((a) => a.address === s.address)?.detail).toContain(
      'uncommitted: ?? after-done.txt',
    );
    expect(tmuxSessions(t)).toContain(s.session);
    expect(stateOf(t, 'Capable')).toMatchObject({ state: 'working' });
    const nudge = inboxOf(polecatHome(t, 'Capable')).find((m) => m.type === 'nudge');
    expect(String(nudge?.body)).toContain('is not clean');
    await until('the notice typed into the pane', () =>
      paneOf(t, s.session).includes('[gt witness] your done for'),
    );
    plantMail(witness, {
      id: 'late-done-from-an-old-session',
      from: s.address,
      to: 'alpha/witness',
      subject: 'Done: old work',
      body: 'late',
      created_at: new Date().toISOString(),
      type: 'done',
      epoch: Number(s.epoch) - 1,
    });
    const stale = await patrol(t);
    // (With a 0 ms nudge interval the still-working polecat is also nudged: that is not a kill.)
    expect(kinds(stale, s.address)).toContain('stale-done');
    expect(kinds(stale, s.address)).not.toContain('cleaned-up');
    expect(tmuxSessions(t)).toContain(s.session);
    expect(inboxOf(witness).find((m) => m.id === 'late-done-from-an-old-session')?.read).toBe(true);
  });

  it('a crashed polecat (working, session gone) is escalated once', async () => {
    const id = await createIssue(t, 'Crash');
    const s = await spawn(t, id, 'scripted-crash', 'Rictus');
    await until('the crashed session to vanish', () => !tmuxSessions(t).includes(s.session));
    const first = await patrol(t);
    const second = await patrol(t);
    expect(kinds(first, s.address)).toEqual(['crash']);
    expect(kinds(second, s.address)).toEqual([]);
    const crashes = mayorInbox(t).filter((m) => m.type === 'escalation' && m.cause === 'crash');
    expect(crashes).toHaveLength(1);
    expect(String(crashes[0]?.subject)).toContain(`${s.address} crashed on ${id}`);
  });

  it('an agent at a blocking prompt is never nudged: escalated once, or answered when the preset says it is safe', async () => {
    const id = await createIssue(t, 'Asks first');
    const s = await spawn(t, id, 'scripted-ask', 'Furiosa');
    await until('the question', () => paneOf(t, s.session).includes('Allow this command? (y/n)'));
    const reports = [await patrol(t), await patrol(t), await patrol(t)];
    expect(reports.map((r) => kinds(r, s.address).join(','))).toEqual(['waiting', '', '']);
    expect(reports[0]?.actions.find((a) => a.address === s.address)?.detail).toBe(
      'waiting for input: allow command; escalated to the Mayor',
    );
    expect(paneOf(t, s.session)).not.toContain('[gt witness]');
    expect(inboxOf(polecatHome(t, 'Furiosa')).filter((m) => m.type === 'nudge')).toEqual([]);
    expect(
      mayorInbox(t)
        .filter((m) => m.cause === 'waiting')
        .map((m) => m.subject),
    ).toEqual([`Escalation: ${s.address} is waiting for input (allow command)`]);
    // The Overseer answers; the agent goes on and finishes.
    expect((await gt(['inject', s.address, 'y'], { env: t.env })).code).toBe(0);
    await until('its done', () => agentLogHas(t, 'done', id));

    const safe = await createIssue(t, 'Asks, safely');
    const s2 = await spawn(t, safe, 'scripted-ask-safe', 'Dag');
    await until('the question', () => paneOf(t, s2.session).includes('Allow this command? (y/n)'));
    expect(kinds(await patrol(t), s2.address)).toEqual(['answered']);
    await until('its done', () => agentLogHas(t, 'done', safe));
  });

  it('a polecat being started (working, a fresh state, no session yet) is not called crashed', async () => {
    setWitnessConfig(t, {
      nudge_interval_ms: 0,
      max_nudges: 3,
      stuck_timeout_ms: 3_600_000,
      crash_grace_ms: 60_000,
    });
    try {
      const home = polecatHome(t, 'Keeper');
      mkdirSync(home, { recursive: true });
      const state = (updatedAt: string) => ({
        version: 1,
        role: 'polecat',
        state: 'working',
        issue: 'al-98',
        session: 'gt-alpha-Keeper',
        epoch: 7,
        updated_at: updatedAt,
      });
      writeFileSync(join(home, 'state.json'), JSON.stringify(state(new Date().toISOString())));
      expect(kinds(await patrol(t), 'alpha/Keeper')).toEqual([]);
      // The same state a minute later with still no session: that is a crash.
      const old = new Date(Date.now() - 61_000).toISOString();
      writeFileSync(join(home, 'state.json'), JSON.stringify(state(old)));
      expect(kinds(await patrol(t), 'alpha/Keeper')).toEqual(['crash']);
    } finally {
      setWitnessConfig(t, {
        nudge_interval_ms: 0,
        max_nudges: 3,
        stuck_timeout_ms: 3_600_000,
        crash_grace_ms: 0,
      });
    }
  });

  it('a polecat whose agent never took its prompt (state stuck) is escalated once', async () => {
    const home = polecatHome(t, 'Slit');
    mkdirSync(home, { recursive: true });
    const now = new Date().toISOString();
    writeFileSync(
      join(home, 'state.json'),
      JSON.stringify({
        version: 1,
        role: 'polecat',
        state: 'stuck',
        issue: 'al-99',
        session: 'gt-alpha-Slit',
        epoch: 9,
        updated_at: now,
      }),
    );
    const first = await patrol(t);
    const second = await patrol(t);
    expect(kinds(first, 'alpha/Slit')).toEqual(['blocked']);
    expect(kinds(second, 'alpha/Slit')).toEqual([]);
    const blocked = mayorInbox(t).filter((m) => m.cause === 'blocked');
    expect(blocked.map((m) => m.subject)).toEqual(['Escalation: alpha/Slit is blocked on al-99']);
  });

  it('asks git only about clones whose files changed, tmux once per patrol, and looks afresh before a nudge', async () => {
    setWitnessConfig(t, {
      nudge_interval_ms: 3_600_000,
      max_nudges: 3,
      stuck_timeout_ms: 3_600_000,
      crash_grace_ms: 0,
    });
    // Real git and tmux behind logging wrappers: which calls did a patrol make?
    const shims = join(t.town, '..', 'shims');
    mkdirSync(shims, { recursive: true });
    const log = join(shims, 'calls.log');
    for (const tool of ['git', 'tmux']) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      writeFileSync(
        join(shims, tool),
        `#!/bin/sh\necho "${tool} $(pwd) $*" >> '${log}'\nexec '${real}' "$@"\n`,
        { mode: 0o755 },
      );
    }
    const env = { ...t.env, PATH: `${shims}:${process.env.PATH ?? ''}` };
    const logged = async (): Promise<{ report: PatrolJson; calls: string[] }> => {
      writeFileSync(log, '');
      const report = await gtJson<PatrolJson>(['witness', 'patrol', t.rig, '--once'], { env });
      return { report, calls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
    };
    const id = await createIssue(t, 'Think quietly');
    const s = await spawn(t, id, 'scripted-hang', 'Quiet');
    const home = polecatHome(t, 'Quiet');
    try {
      await until('the agent to hang', () => agentLogHas(t, 'hang', id));
      const sock = join(t.town, 'run', 'tmux.sock');
      const activity = Number(
        execFileSync(
          'tmux',
          ['-S', sock, 'display', '-p', '-t', `=${s.session}:`, '#{window_activity}'],
          {
            encoding: 'utf8',
          },
        ),
      );
      await until('the pane to be quiet for a second', () => Date.now() / 1000 >= activity + 1);
      const first = await logged();
      expect(first.calls.filter((c) => c.startsWith(`git ${home} `)).length).toBeGreaterThan(0);
      const progressAt = () =>
        (
          JSON.parse(readFileSync(join(t.town, 'alpha', 'witness', 'patrol.json'), 'utf8')) as {
            workers: Record<string, { last_progress_at: string }>;
          }
        ).workers['alpha/Quiet']?.last_progress_at;
      const before = progressAt();
      // Nothing new: no git in its clone, no tmux call about its session, one tmux call in all.
      const quiet = await logged();
      expect(quiet.calls.filter((c) => c.startsWith(`git ${home} `))).toEqual([]);
      expect(quiet.calls.filter((c) => c.includes(s.session))).toEqual([]);
      expect(quiet.calls.filter((c) => c.startsWith('tmux '))).toHaveLength(1);
      expect(kinds(quiet.report, s.address)).toEqual([]);
      expect(progressAt()).toBe(before);
      // A new file: git looks at this clone again, and it is progress.
      writeFileSync(join(home, 'notes.txt'), 'thinking\n');
      const changed = await logged();
      expect(changed.calls.filter((c) => c.startsWith(`git ${home} `)).length).toBeGreaterThan(0);
      const after = progressAt();
      expect(after).not.toBe(before);
      // A tracked file rewritten in place (no stamp changes): when a nudge falls due, the
      // Witness looks afresh, sees the change as progress and does not nudge.
      writeFileSync(join(home, 'README.md'), 'rewritten in place\n');
      setWitnessConfig(t, {
        nudge_interval_ms: 0,
        max_nudges: 3,
        stuck_timeout_ms: 3_600_000,
        crash_grace_ms: 0,
      });
      const due = await logged();
      expect(kinds(due.report, s.address)).toEqual([]);
      expect(progressAt()).not.toBe(after);
      expect(inboxOf(home).filter((m) => m.type === 'nudge')).toEqual([]);
    } finally {
      await gt(['kill', s.address], { env: t.env });
      setWitnessConfig(t, {
        nudge_interval_ms: 0,
        max_nudges: 3,
        stuck_timeout_ms: 3_600_000,
        crash_grace_ms: 0,
      });
    }
  });
});
