// A polecat stopped by `gt kill` / `gt stop` keeps its issue: `gt polecats` / `gt status` show it,
// `gt spawn <rig> --issue <id>` resumes the same polecat in the same clone and branch, and
// `gt release <rig>/<polecat>` gives the issue back to the queue.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import {
  createIssue,
  makeSessionTown,
  showIssue,
  spawn,
  until,
  type SessionTown,
  type SpawnJson,
} from './sessions-helpers.js';

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-stopped-');
});

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

interface PolecatsJson {
  polecats: Array<{ branch: string; status: { name: string; state: string; issue: string } }>;
}
const polecat = async (name: string) =>
  (await gtJson<PolecatsJson>(['polecats', 'alpha'], { env: t.env })).polecats.find(
    (p) => p.status.name === name,
  );

const home = () => join(t.town, 'alpha', 'polecats', 'Nux');
const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: home(), encoding: 'utf8' }).trim();
const agentSaw = (text: string) => readFileSync(t.agentLog, 'utf8').includes(text);

describe('a stopped polecat holding its issue', () => {
  let id = '';
  let first: SpawnJson;

  it('gt kill leaves it stopped with its issue, shown by gt polecats and gt status', async () => {
    id = await createIssue(t, 'Interrupted work');
    first = await spawn(t, id, 'scripted-hang', 'Nux');
    await until('the agent to start', () => agentSaw(id));
    writeFileSync(join(home(), 'kept.txt'), 'work in progress\n');
    git('add', 'kept.txt');
    git('commit', '-q', '-m', 'half done');
    expect((await gt(['kill', 'alpha/Nux'], { env: t.env })).code).toBe(0);
    expect(await polecat('Nux')).toMatchObject({ status: { state: 'stopped', issue: id } });
    const table = await gt(['polecats', 'alpha'], { env: t.env });
    expect(table.stdout).toMatch(new RegExp(`^Nux +stopped +${id} `, 'm'));
    const st = await gtJson<{ rigs: Array<{ agents: Array<Record<string, unknown>> }> }>(
      ['status'],
      { env: t.env },
    );
    expect(st.rigs[0]?.agents.find((a) => a.address === 'alpha/Nux')).toMatchObject({
      state: 'stopped',
      issue: id,
    });
    expect(await showIssue(t, id)).toMatchObject({ status: 'in_progress', assignee: 'alpha/Nux' });
  });

  it("resuming counts against the rig's max_polecats like a spawn", async () => {
    const configFile = join(t.town, 'alpha', 'config.json');
    const config = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, JSON.stringify({ ...JSON.parse(config), max_polecats: 1 }));
    try {
      const other = await createIssue(t, 'Other work');
      await spawn(t, other, 'scripted-hang', 'Ace');
      const refused = await gt(['spawn', 'alpha', '--issue', id], { env: t.env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'rig alpha already runs 1 polecat(s), its max_polecats is 1: Ace',
      );
      expect(await polecat('Nux')).toMatchObject({ status: { state: 'stopped', issue: id } });
      expect((await gt(['kill', 'alpha/Ace'], { env: t.env })).code).toBe(0);
    } finally {
      writeFileSync(configFile, config);
    }
  });

  it('gt spawn --issue resumes the same polecat in the same clone and branch', async () => {
    // No --agent: the resumed session runs the polecat's own preset again.
    const again = await gtJson<SpawnJson & { agent: string }>(['spawn', 'alpha', '--issue', id], {
      env: t.env,
    });
    expect(again).toMatchObject({ polecat: 'Nux', branch: first.branch, issue: id });
    expect(again.agent).toBe('scripted-hang');
    expect(Number(again.epoch)).toBeGreaterThan(Number(first.epoch));
    expect(git('branch', '--show-current')).toBe(first.branch);
    expect(git('log', '-1', '--format=%s')).toBe('half done');
    expect(readFileSync(join(home(), 'kept.txt'), 'utf8')).toBe('work in progress\n');
    await until('the resumed agent to get its prompt', () => agentSaw('Resumed: this clone'));
    expect(await polecat('Nux')).toMatchObject({ status: { state: 'working', issue: id } });
    // A running polecat's issue is not released.
    const running = await gt(['release', 'alpha/Nux'], { env: t.env });
    expect(running.code).toBe(1);
    expect(running.stderr).toContain(`alpha/Nux is running (session ${again.session}) on ${id}`);
    expect(running.stderr).toContain('hint: stop it first with `gt kill alpha/Nux`');
  });

  it('gt release gives the issue back to the queue; the polecat is idle, its clone kept', async () => {
    expect((await gt(['stop', '--all'], { env: t.env })).code).toBe(0);
    expect(await polecat('Nux')).toMatchObject({ status: { state: 'stopped', issue: id } });
    const r = await gt(['release', 'alpha/Nux'], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${id} is open again (unassigned); alpha/Nux is idle, its clone kept\n`);
    expect(await showIssue(t, id)).toMatchObject({ status: 'open' });
    expect((await showIssue(t, id)).assignee ?? '').toBe('');
    const ready = await bd(['ready', '--json'], { env: t.beadsEnv });
    expect((JSON.parse(ready.stdout) as Array<{ id: string }>).map((i) => i.id)).toContain(id);
    expect(await polecat('Nux')).toMatchObject({ status: { state: 'idle', issue: '' } });
    expect(git('log', '-1', '--format=%s')).toBe('half done');
    const again = await gt(['release', 'alpha/Nux'], { env: t.env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('alpha/Nux holds no issue');
  });
});
