// The full local loop with real tmux and git: spawn 3 polecats running the scripted agent, each
// commits, pushes and runs `gt done`; then refusals, emergency stop with a dirty clone.
import { join } from 'node:path';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import { git } from '../helpers/git.js';
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

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-loop-');
});

afterAll(async () => {
  await gt(['down'], { env: t.env });
  await t.cleanup();
});

describe('full local loop', () => {
  it('3 polecats each finish their issue: 3 done mails, right claims, branches pushed, queued', async () => {
    const issues = [
      await createIssue(t, 'Fix the parser', 'it breaks on "quotes"'),
      await createIssue(t, 'Add a flag'),
      await createIssue(t, 'Write docs'),
    ];
    const spawned = [];
    for (const id of issues) spawned.push(await spawn(t, id, 'scripted'));
    expect(spawned.map((s) => s.polecat)).toEqual(['Nux', 'Toast', 'Capable']);
    expect(spawned.map((s) => Number(s.epoch))).toEqual([1, 2, 3]);
    const witness = join(t.town, 'alpha', 'witness');
    const done = await until('3 done mails', () => {
      const mails = inboxOf(witness).filter((m) => m.type === 'done');
      return mails.length >= 3 ? mails : undefined;
    });
    expect(done).toHaveLength(3);
    for (const [i, s] of spawned.entries()) {
      const mail = done.find((m) => m.from === s.address);
      expect(mail).toMatchObject({
        to: 'alpha/witness',
        issue: issues[i],
        branch: s.branch,
        epoch: Number(s.epoch),
      });
      expect(await showIssue(t, issues[i] ?? '')).toMatchObject({
        status: 'in_progress',
        assignee: s.address,
      });
      const queued = JSON.parse(
        readFileSync(join(t.town, 'alpha', 'refinery', 'queue', `${issues[i]}.json`), 'utf8'),
      );
      expect(queued).toMatchObject({
        issue: issues[i],
        address: s.address,
        branch: s.branch,
        epoch: Number(s.epoch),
      });
      expect(git(t.base, '--git-dir', t.repo, 'rev-parse', s.branch)).toBe(queued.head);
    }
    const listed = await gtJson<{
      polecats: Array<{ status: { name: string; state: string; session_alive: boolean } }>;
    }>(['polecats', 'alpha'], { env: t.env });
    expect(
      listed.polecats.map((p) => [p.status.name, p.status.state, p.status.session_alive]),
    ).toEqual([
      ['Capable', 'done', true],
      ['Nux', 'done', true],
      ['Toast', 'done', true],
    ]);
    const status = await gtJson<{
      rigs: Array<{ agents: Array<{ address: string; session_alive: boolean }> }>;
    }>(['status'], { env: t.env });
    const nux = status.rigs[0]?.agents.find((a) => a.address === 'alpha/Nux');
    expect(nux?.session_alive).toBe(true);
  });

  it('gt done again from the clone (identity from the cwd) is idempotent: no second mail', async () => {
    const clone = join(t.town, 'alpha', 'polecats', 'Nux');
    const witness = join(t.town, 'alpha', 'witness');
    const before = inboxOf(witness).length;
    const again = await gt(['done'], { cwd: clone, env: { GT_ADDRESS: '', GT_EPOCH: '' } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^alpha\/Nux: al-\w+ is done/);
    expect(inboxOf(witness)).toHaveLength(before);
  });

  it('two spawns racing for one issue: exactly one claims it, the loser leaves nothing behind', async () => {
    const id = await createIssue(t, 'Contended');
    const args = ['spawn', 'alpha', '--issue', id, '--agent', 'scripted-hang'];
    const results = await Promise.all([gt(args, { env: t.env }), gt(args, { env: t.env })]);
    expect(results.map((r) => r.code).sort(), JSON.stringify(results)).toEqual([0, 1]);
    const loser = results.find((r) => r.code === 1);
    expect(loser?.stderr).toMatch(/already claimed by alpha\/\w+/);
    const holder = (await showIssue(t, id)).assignee ?? '';
    const listed = await gtJson<{
      polecats: Array<{ status: { address: string; issue: string; state: string } }>;
    }>(['polecats', 'alpha'], { env: t.env });
    expect(listed.polecats.filter((p) => p.status.issue === id)).toEqual([
      expect.objectContaining({
        status: expect.objectContaining({ address: holder, state: 'working' }),
      }),
    ]);
  });

  it('validates before spawning: unknown rig, unknown issue, unknown preset leave nothing behind', async () => {
    const id = await createIssue(t, 'Never started');
    const before = await gtJson<{ polecats: unknown[] }>(['polecats', 'alpha'], { env: t.env });
    const rig = await gt(['spawn', 'nope', '--issue', id], { env: t.env });
    expect(rig.code).toBe(1);
    expect(rig.stderr).toMatch(/no rig named "nope"[\s\S]*hint: rigs: alpha/);
    const issue = await gt(['spawn', 'alpha', '--issue', 'al-zzzz', '--agent', 'scripted'], {
      env: t.env,
    });
    expect(issue.code).toBe(1);
    expect(issue.stderr).toMatch(/al-zzzz/);
    const preset = await gt(['spawn', 'alpha', '--issue', id, '--agent', 'nosuch'], { env: t.env });
    expect(preset.code).toBe(1);
    expect(preset.stderr).toMatch(/unknown agent preset "nosuch"/);
    const after = await gtJson<{ polecats: unknown[] }>(['polecats', 'alpha'], { env: t.env });
    expect(after.polecats).toHaveLength(before.polecats.length);
    expect(await showIssue(t, id)).toMatchObject({ status: 'open' });
  });

  it('refuses an issue that is already claimed, naming the holder', async () => {
    const id = await createIssue(t, 'Taken');
    await spawn(t, id, 'scripted-hang');
    const again = await gt(['spawn', 'alpha', '--issue', id, '--agent', 'scripted'], {
      env: t.env,
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`${id} is already claimed by alpha/\\w+`));
  });

  it("refuses to spawn beyond the rig's max_polecats, and gives nothing away", async () => {
    const running = tmuxSessions(t).filter((x) => x.startsWith('gt-alpha-')).length;
    const file = join(t.town, 'alpha', 'config.json');
    const config = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      JSON.stringify({ ...(JSON.parse(config) as object), max_polecats: running + 1 }),
    );
    try {
      const first = await createIssue(t, 'Fits under the cap');
      await spawn(t, first, 'scripted-hang');
      const second = await createIssue(t, 'One too many');
      const r = await gt(['spawn', 'alpha', '--issue', second, '--agent', 'scripted'], {
        env: t.env,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `rig alpha already runs ${running + 1} polecat(s), its max_polecats is ${running + 1}`,
      );
      expect(r.stderr).toContain('raise max_polecats in alpha/config.json');
      expect(await showIssue(t, second)).toMatchObject({ status: 'open' });
      expect((await showIssue(t, second)).assignee ?? '').toBe('');
      expect(tmuxSessions(t).filter((x) => x.startsWith('gt-alpha-'))).toHaveLength(running + 1);
    } finally {
      writeFileSync(file, config);
    }
  });

  it('refuses to reuse a polecat with uncommitted work; stop --all kills everything and reports it', async () => {
    const id = await createIssue(t, 'Leave a mess');
    const s = await spawn(t, id, 'scripted-dirty', 'Ace');
    // The dirty agent commits and pushes, leaves changes behind, and its `gt done` is refused.
    await until(
      'the dirty agent to try gt done',
      () => existsSync(t.agentLog) && /"event":"dirty"/.test(readFileSync(t.agentLog, 'utf8')),
    );
    await until('gt done refused', async () =>
      /uncommitted changes/.test((await gt(['capture', s.address], { env: t.env })).stdout),
    );
    expect((await gt(['kill', s.address], { env: t.env })).code).toBe(0);
    const next = await createIssue(t, 'Another');
    const refused = await gt(
      ['spawn', 'alpha', '--issue', next, '--name', 'Ace', '--agent', 'scripted'],
      { env: t.env },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/polecat alpha\/Ace has work that is not saved on origin/);
    expect((await showIssue(t, next)).status).toBe('open');

    expect(tmuxSessions(t).length).toBeGreaterThan(0);
    const stop = await gt(['stop', '--all'], { env: t.env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/killed \d+ session\(s\): .*alpha\/Nux/);
    expect(stop.stderr).toMatch(/alpha\/Ace has unsaved work .*\(kept\)/);
    expect(stop.stderr).toContain('uncommitted: work/untracked-notes.txt');
    expect(tmuxSessions(t)).toEqual([]);
    const listed = await gtJson<{
      polecats: Array<{ status: { name: string; state: string; session_alive: boolean } }>;
    }>(['polecats', 'alpha'], { env: t.env });
    for (const p of listed.polecats)
      expect([p.status.name, p.status.state, p.status.session_alive]).toEqual([
        p.status.name,
        'stopped',
        false,
      ]);
  });

  it("works the same through the town daemon (gt up): spawn, the agent's gt done, polecats", async () => {
    const up = await gt(['up'], { env: t.env });
    expect(up.code, up.stderr).toBe(0);
    const id = await createIssue(t, 'Via the daemon');
    const s = await spawn(t, id, 'scripted');
    const witness = join(t.town, 'alpha', 'witness');
    await until('the done mail', () =>
      inboxOf(witness).find((m) => m.type === 'done' && m.issue === id),
    );
    // The daemon's Witness patrol handles the done mail: the clean polecat's session is killed
    // and it goes idle. Before the patrol it is done with its session alive; either is right
    // at any one moment, so wait for the end state and check every state seen on the way.
    const seen = new Set<string>();
    await until('the daemon to clean the done polecat up', async () => {
      const p = await gtJson<{
        polecats: Array<{ status: { address: string; state: string; session_alive: boolean } }>;
      }>(['polecats', 'alpha', '--verbose'], { env: t.env });
      const st = p.polecats.find((x) => x.status.address === s.address)?.status;
      if (st !== undefined) seen.add(`${st.state}/${st.session_alive}`);
      return st?.state === 'idle' && !st.session_alive;
    });
    expect([...seen].filter((x) => x !== 'done/true' && x !== 'idle/false')).toEqual([]);
    expect(tmuxSessions(t)).not.toContain(s.session);
    await until(
      'the done mail marked read by the patrol',
      () => inboxOf(witness).find((m) => m.type === 'done' && m.issue === id)?.read === true,
    );
    expect((await gt(['stop', '--rig', 'alpha'], { env: t.env })).code).toBe(0);
    expect(tmuxSessions(t)).toEqual([]);
    expect((await gt(['down'], { env: t.env })).code).toBe(0);
  });
});
