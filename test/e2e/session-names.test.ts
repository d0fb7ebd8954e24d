// Session names are unique by construction: polecats whose names used to map to one tmux session
// (`a.b` / `a_b`; rig `a-b` + `Nux` / rig `a` + `b-Nux`) run side by side, each `gt capture`
// reaches its own pane, and a session recorded under an older name keeps being found.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import {
  makeSessionTown,
  tmuxPanePid,
  tmuxSessions,
  until,
  type SessionTown,
  type SpawnJson,
} from './sessions-helpers.js';

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-names-');
  for (const [rig, prefix] of [
    ['a-b', 'ab'],
    ['a', 'aa'],
  ] as const) {
    const r = await gt(['rig', 'add', rig, t.repo, '--prefix', prefix], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
  }
});

afterAll(async () => {
  await t.cleanup();
});

async function spawnNamed(rig: string, name: string): Promise<SpawnJson> {
  const env = { BEADS_DIR: join(t.town, rig, '.beads'), BD_ACTOR: 'overseer' };
  const created = await bd(['create', `work for ${name}`, '--json'], { env });
  expect(created.code, created.stderr).toBe(0);
  const issue = (JSON.parse(created.stdout) as { id: string }).id;
  return gtJson<SpawnJson>(['spawn', rig, '--issue', issue, '--agent', 'shell', '--name', name], {
    env: t.env,
  });
}

/** What the shell in the agent's pane says its address is (`gt capture <agent> <cmd>`). */
async function addressInPane(address: string): Promise<string> {
  await until(`the shell prompt of ${address}`, async () =>
    /gt\$ $/m.test((await gt(['capture', address], { env: t.env })).stdout),
  );
  const r = await gt(['capture', address, `printf '%s\\n' "$GT_ADDRESS"`], { env: t.env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

interface PolecatsJson {
  polecats: Array<{ status: { address: string; session_alive: boolean } }>;
}

describe('session names', () => {
  const pairs = [
    ['alpha', 'a.b'],
    ['alpha', 'a_b'],
    ['a-b', 'Nux'],
    ['a', 'b-Nux'],
  ] as const;
  const spawned: SpawnJson[] = [];

  it('polecats whose names used to collide each get their own live session', async () => {
    for (const [rig, name] of pairs) spawned.push(await spawnNamed(rig, name));
    const sessions = spawned.map((s) => s.session);
    expect(new Set(sessions).size).toBe(pairs.length);
    expect(tmuxSessions(t)).toEqual(expect.arrayContaining(sessions));
    const pids = sessions.map((s) => tmuxPanePid(t, s));
    expect(pids.every((p) => p !== undefined)).toBe(true);
    expect(new Set(pids).size).toBe(pairs.length);
    for (const rig of ['alpha', 'a-b', 'a']) {
      const rows = (await gtJson<PolecatsJson>(['polecats', rig], { env: t.env })).polecats;
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.status.session_alive)).toBe(true);
    }
  });

  it('gt capture reaches each polecat’s own pane', async () => {
    for (const s of spawned) expect(await addressInPane(s.address)).toBe(s.address);
  });

  it('a session recorded under an older name is the one used (towns made before the escaping)', async () => {
    const target = spawned[1];
    if (target === undefined) throw new Error('no spawn');
    const socket = join(t.town, 'run', 'tmux.sock');
    const old = 'gt-alpha-a_b-old';
    execFileSync('tmux', ['-S', socket, 'rename-session', '-t', `=${target.session}`, old]);
    const stateFile = join(t.town, 'alpha', 'polecats', 'a_b', 'state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(stateFile, JSON.stringify({ ...state, session: old }));
    expect(await addressInPane(target.address)).toBe(target.address);
    const row = (await gtJson<PolecatsJson>(['polecats', 'alpha'], { env: t.env })).polecats.find(
      (r) => r.status.address === target.address,
    );
    expect(row?.status.session_alive).toBe(true);
    const killed = await gtJson<{ session: string; killed: boolean }>(['kill', target.address], {
      env: t.env,
    });
    expect(killed).toMatchObject({ session: old, killed: true });
    expect(tmuxSessions(t)).not.toContain(old);
    // The other polecats are untouched.
    expect(tmuxSessions(t)).toEqual(
      expect.arrayContaining(spawned.filter((s) => s !== target).map((s) => s.session)),
    );
  });

  it('doctor names two agents of an old town that record one session, and how to part them', async () => {
    const [, , first, second] = spawned;
    if (first === undefined || second === undefined) throw new Error('no spawn');
    const stateFile = join(t.town, 'a', 'polecats', 'b-Nux', 'state.json');
    const text = readFileSync(stateFile, 'utf8');
    const state = JSON.parse(text) as Record<string, unknown>;
    writeFileSync(stateFile, JSON.stringify({ ...state, session: first.session }));
    try {
      const r = await gt(['doctor', '--json'], { env: t.env });
      expect(r.code).toBe(1);
      const findings = (
        JSON.parse(r.stdout) as {
          findings: Array<{ check: string; status: string; message: string; hint?: string }>;
        }
      ).findings.filter((f) => f.check === 'session-names' && f.status === 'error');
      expect(findings).toHaveLength(1);
      expect(findings[0]?.message).toContain(`"${first.session}"`);
      for (const a of [first.address, second.address]) {
        expect(findings[0]?.message).toContain(a);
        expect(findings[0]?.hint).toContain(`gt kill ${a}`);
      }
    } finally {
      writeFileSync(stateFile, text);
    }
    const clean = await gt(['doctor', '--json'], { env: t.env });
    const after = (
      JSON.parse(clean.stdout) as { findings: Array<{ check: string; status: string }> }
    ).findings;
    expect(after.filter((f) => f.check === 'session-names').map((f) => f.status)).toEqual(['ok']);
  });
});
