// The seed's "tmux crash" row for real: three scripted polecats working in tmux, the town's tmux
// server killed under them. `gt status` still answers and says so, `gt doctor` names the cause and
// each agent, `gt doctor --fix` cleans up (stale socket, agents idle, issues back, clones and
// their uncommitted work kept), and the next `gt spawn` starts a new server.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import {
  createIssue,
  makeSessionTown,
  showIssue,
  spawn,
  tmuxSessions,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import { agentLogHas, doctorJson, polecatHome, stateOf } from './witness-helpers.js';

let t: SessionTown;
let sock: string;

/** How many times a scripted agent started its never-ending work. */
const hangs = (): number =>
  readFileSync(t.agentLog, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && (JSON.parse(l) as { event: string }).event === 'hang').length;

beforeAll(async () => {
  t = await makeSessionTown('gt-tmuxcrash-');
  sock = join(t.town, 'run', 'tmux.sock');
});

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

interface StatusJson {
  tmux: { state: string; socket: string; sessions?: number };
  rigs: Array<{ agents: Array<{ address: string; state: string; sessionAlive?: boolean }> }>;
}

describe('tmux crash', () => {
  it('doctor names the dead server and the agents, --fix cleans up, spawn starts a new server', async () => {
    const ids = [
      await createIssue(t, 'First'),
      await createIssue(t, 'Second'),
      await createIssue(t, 'Third'),
    ];
    const spawned = [];
    for (const id of ids) spawned.push(await spawn(t, id, 'scripted-hang'));
    for (const id of ids)
      await until(`the agent on ${id} to be working`, () => agentLogHas(t, 'hang', id));
    expect(tmuxSessions(t)).toHaveLength(3);
    spawned.sort((a, b) => a.polecat.localeCompare(b.polecat)); // the order the doctor lists them

    execFileSync('tmux', ['-S', sock, 'kill-server']);
    expect(tmuxSessions(t)).toEqual([]);
    expect(existsSync(sock)).toBe(true); // tmux never removes its socket

    const started = Date.now();
    const status = await gt(['status'], { env: t.env, timeoutMs: 20_000 });
    expect(status.code, status.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(status.stdout).toContain(
      `tmux: down (nothing answers on ${sock}); 3 agent(s) say working with no session: run \`gt doctor\``,
    );
    for (const s of spawned)
      expect(status.stdout).toMatch(
        new RegExp(`${s.address}\\s+polecat\\s+working\\s+${s.issue}\\s+gone`),
      );
    const st = await gtJson<StatusJson>(['status'], { env: t.env });
    expect(st.tmux).toMatchObject({ state: 'stale', socket: sock });

    const broken = await gt(['doctor', '--json'], { env: t.env });
    expect(broken.code).toBe(1);
    const report = JSON.parse(broken.stdout) as Awaited<ReturnType<typeof doctorJson>>;
    const bad = report.findings.filter((f) => f.status !== 'ok');
    const who = spawned.map((s) => `${s.address} (${s.issue})`).join(', ');
    expect(bad.map((f) => [f.check, f.status, f.message])).toEqual([
      [
        'tmux-server',
        'error',
        `tmux server down: nothing answers on ${sock} (a stale socket the dead server left); 3 agent(s) say "working" with no session: ${who}`,
      ],
      ...spawned.map((s) => [
        'agent-crash',
        'error',
        `agent crash: ${s.address} is "working" on ${s.issue} but its session ${s.session} is gone`,
      ]),
    ]);

    const fixed = await doctorJson(t, true);
    expect(fixed.fixed).toEqual([
      [
        `removed the stale tmux socket ${sock}`,
        ...spawned.map(
          (s) => `reset ${s.address} to idle (its session was gone); ${s.issue} is open again`,
        ),
      ].join('; '),
    ]);
    expect(existsSync(sock)).toBe(false);
    for (const s of spawned) {
      const state = stateOf(t, s.polecat);
      expect(state.state).toBe('idle');
      expect(state.session).toBeUndefined();
      expect(state.issue).toBeUndefined();
      expect(await showIssue(t, s.issue)).toMatchObject({ status: 'open' });
      expect((await showIssue(t, s.issue)).assignee ?? '').toBe('');
      // The clone and the agent's uncommitted work are still there.
      const work = join(polecatHome(t, s.polecat), 'work', `${s.issue}.txt`);
      expect(readFileSync(work, 'utf8')).toContain(`Work on ${s.issue}`);
    }
    const after = await gt(['doctor', '--json'], { env: t.env });
    expect(after.code, after.stdout).toBe(0);
    const clean = JSON.parse(after.stdout) as Awaited<ReturnType<typeof doctorJson>>;
    expect(clean.findings.filter((f) => f.status !== 'ok')).toEqual([]);
    expect(
      clean.findings
        .filter((f) => ['tmux-server', 'agent-crash', 'zombie-sessions'].includes(f.check))
        .map((f) => f.check),
    ).toEqual(['tmux-server', 'agent-crash', 'zombie-sessions']);

    // A new spawn starts a new tmux server (the old polecats hold unsaved work: a new one is made).
    const again = await spawn(t, ids[0] ?? '', 'scripted-hang');
    expect(spawned.map((s) => s.polecat)).not.toContain(again.polecat);
    await until('the new agent to be working', () => hangs() === 4);
    expect(tmuxSessions(t)).toEqual([again.session]);
    const running = await gt(['status'], { env: t.env });
    expect(running.stdout).toContain('tmux: running, 1 session(s)\n');
  });

  it('a hung tmux server: gt status answers within seconds, gt doctor names it and does not hang', async () => {
    expect(tmuxSessions(t)).toHaveLength(1); // the server the previous test started
    const pid = Number(
      execFileSync('tmux', ['-S', sock, 'display-message', '-p', '#{pid}'], { encoding: 'utf8' }),
    );
    process.kill(pid, 'SIGSTOP');
    onTestFinished(() => {
      process.kill(pid, 'SIGCONT');
    });
    const started = Date.now();
    const status = await gt(['status'], { env: t.env, timeoutMs: 30_000 });
    expect(status.code, status.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(status.stdout).toMatch(
      new RegExp(
        `tmux: not answering on ${sock} \\(tmux list-sessions did not answer within 3000 ms\\)`,
      ),
    );

    const doctor = await gt(['doctor', '--json'], { env: t.env, timeoutMs: 60_000 });
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout) as Awaited<ReturnType<typeof doctorJson>>;
    expect(
      report.findings.filter((f) => f.status !== 'ok').map((f) => [f.check, f.status]),
    ).toEqual([
      ['tmux-server', 'error'],
      ['agent-crash', 'warning'],
      ['zombie-sessions', 'warning'],
      ['heartbeat-health', 'warning'],
    ]);
    expect(report.findings.find((f) => f.check === 'tmux-server')?.message).toBe(
      `the town's tmux server on ${sock} accepts connections but does not answer (tmux list-sessions did not answer within 3000 ms)`,
    );
  });
});
