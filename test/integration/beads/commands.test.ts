// Every bd command through the real binary, asserting on --json output and on issues.jsonl.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import { bd, bdJson, initProject, jsonlById, readJsonl } from './bd-helper.js';

type Issue = Record<string, unknown> & { id: string; status: string };

describe('bd commands (real binary)', () => {
  it('init creates .beads/ with database, issues.jsonl and config, and refuses to clobber', () => {
    const dir = tempDir('bd-');
    const init = bdJson<{ prefix: string; beadsDir: string }>(dir, ['init', '--prefix', 'gt']);
    expect(init.prefix).toBe('gt');
    for (const f of ['beads.db', 'issues.jsonl', 'config.yaml', '.gitignore']) {
      expect(existsSync(join(dir, '.beads', f))).toBe(true);
    }
    expect(readFileSync(join(dir, '.beads', 'config.yaml'), 'utf8')).toContain('issue-prefix: gt');
    const again = bd(dir, ['init', '--prefix', 'gt']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/error: a beads database already exists/);
    expect(again.stderr).toMatch(/hint: .*--force/);
    expect(bd(dir, ['init', '--prefix', 'gt', '--force']).code).toBe(0);
  });

  it('init imports an existing issues.jsonl', () => {
    const dir = tempDir('bd-');
    initProject(dir, 'gt');
    bdJson(dir, ['create', 'kept across init']);
    const before = readFileSync(join(dir, '.beads', 'issues.jsonl'), 'utf8');
    const result = bdJson<{ issues: number }>(dir, ['init', '--prefix', 'gt', '--force']);
    expect(result.issues).toBe(1);
    expect(readFileSync(join(dir, '.beads', 'issues.jsonl'), 'utf8')).toBe(before);
  });

  it('create prints the issue, writes it to issues.jsonl, and honours every flag', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const blocker = bdJson<Issue>(dir, ['create', 'Blocker']);
    expect(blocker.id).toMatch(/^gt-[0-9a-z]{3}$/);
    const issue = bdJson<Issue>(dir, [
      'create',
      'Fix',
      'the',
      'thing',
      '-d',
      'details',
      '-t',
      'bug',
      '-p',
      'P0',
      '-a',
      'alice',
      '-l',
      'zeta,alpha',
      '--deps',
      `related:${blocker.id}`,
    ]);
    expect(issue).toMatchObject({
      title: 'Fix the thing',
      description: 'details',
      issue_type: 'bug',
      priority: 0,
      assignee: 'alice',
      status: 'open',
      labels: ['alpha', 'zeta'],
    });
    expect(issue.dependencies).toEqual([
      expect.objectContaining({
        issue_id: issue.id,
        depends_on_id: blocker.id,
        type: 'related',
        created_by: 'tester',
      }),
    ]);
    const onDisk = jsonlById(dir).get(issue.id);
    expect(onDisk).toEqual(issue);
    expect(onDisk?.priority).toBe(0); // P0 is written, never dropped
    const silent = bd(dir, ['create', 'Quiet', '--silent']);
    expect(silent.stdout.trim()).toMatch(/^gt-[0-9a-z]{3}$/);
    const explicit = bdJson<Issue>(dir, ['create', 'Explicit', '--id', 'gt-custom']);
    expect(explicit.id).toBe('gt-custom');
  });

  it('create --parent makes child ids <parent>.<n> with a parent-child edge', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const epic = bdJson<Issue>(dir, ['create', 'Epic', '-t', 'epic']);
    const c1 = bdJson<Issue>(dir, ['create', 'Child one', '--parent', epic.id]);
    const c2 = bdJson<Issue>(dir, ['create', 'Child two', '--parent', epic.id]);
    expect(c1.id).toBe(`${epic.id}.1`);
    expect(c2.id).toBe(`${epic.id}.2`);
    expect(c2.dependencies).toEqual([
      expect.objectContaining({ depends_on_id: epic.id, type: 'parent-child' }),
    ]);
    const grandchild = bdJson<Issue>(dir, ['create', 'Grandchild', '--parent', c1.id]);
    expect(grandchild.id).toBe(`${epic.id}.1.1`);
  });

  it('list filters and sorts (priority ascending, then newest); tombstones only with -s all', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const a = bdJson<Issue>(dir, ['create', 'A', '-p', '2']);
    const b = bdJson<Issue>(dir, ['create', 'B', '-p', '1', '-t', 'bug', '-l', 'ui']);
    const c = bdJson<Issue>(dir, ['create', 'C', '-p', '2', '-a', 'bob']);
    const gone = bdJson<Issue>(dir, ['create', 'Gone']);
    bdJson(dir, ['delete', gone.id]);
    expect(bdJson<Issue[]>(dir, ['list']).map((i) => i.id)).toEqual([b.id, c.id, a.id]);
    expect(bdJson<Issue[]>(dir, ['list', '-t', 'bug']).map((i) => i.id)).toEqual([b.id]);
    expect(bdJson<Issue[]>(dir, ['list', '-l', 'ui']).map((i) => i.id)).toEqual([b.id]);
    expect(bdJson<Issue[]>(dir, ['list', '-a', 'bob']).map((i) => i.id)).toEqual([c.id]);
    expect(bdJson<Issue[]>(dir, ['list', '-p', 'P2']).map((i) => i.id)).toEqual([c.id, a.id]);
    expect(bdJson<Issue[]>(dir, ['list', '-n', '1'])).toHaveLength(1);
    expect(bdJson<Issue[]>(dir, ['list', '-s', 'all']).map((i) => i.id)).toContain(gone.id);
    expect(bdJson<Issue[]>(dir, ['list', '-s', 'tombstone']).map((i) => i.id)).toEqual([gone.id]);
    expect(bd(dir, ['list']).stdout).toMatch(/ID\s+PRI\s+TYPE\s+STATUS/);
  });

  it('show, update, close, reopen', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const issue = bdJson<Issue>(dir, ['create', 'Work', '-l', 'x']);
    const [shown] = bdJson<Issue[]>(dir, ['show', issue.id]);
    expect(shown).toEqual(issue);
    const [updated] = bdJson<Issue[]>(dir, [
      'update',
      issue.id,
      '--status',
      'in_progress',
      '--assignee',
      'carol',
      '--priority',
      '1',
      '--title',
      'Work harder',
      '-d',
      'desc',
      '--notes',
      'n1',
      '--add-label',
      'y',
      '--remove-label',
      'x',
    ]);
    expect(updated).toMatchObject({
      status: 'in_progress',
      assignee: 'carol',
      priority: 1,
      title: 'Work harder',
      description: 'desc',
      notes: 'n1',
      labels: ['y'],
    });
    const [closed] = bdJson<Issue[]>(dir, ['close', issue.id, '-r', 'Done it']);
    expect(closed).toMatchObject({ status: 'closed', close_reason: 'Done it' });
    expect(typeof closed?.closed_at).toBe('string');
    expect(jsonlById(dir).get(issue.id)).toMatchObject({
      status: 'closed',
      close_reason: 'Done it',
    });
    const [reopened] = bdJson<Issue[]>(dir, ['reopen', issue.id]);
    expect(reopened?.status).toBe('open');
    expect(reopened).not.toHaveProperty('closed_at');
    expect(reopened).not.toHaveProperty('close_reason');
    const [closedDefault] = bdJson<Issue[]>(dir, ['close', issue.id]);
    expect(closedDefault?.close_reason).toBe('Closed');
    const [viaUpdate] = bdJson<Issue[]>(dir, ['update', issue.id, '--status', 'open']);
    expect(viaUpdate).not.toHaveProperty('closed_at');
    expect(jsonlById(dir).get(issue.id)).not.toHaveProperty('close_reason');
    expect(bd(dir, ['show', issue.id]).stdout).toContain('Work harder');
  });

  it('short ids resolve by prefix+input and unique hash substring', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const issue = bdJson<Issue>(dir, ['create', 'Short']);
    const hash = issue.id.slice(3);
    expect(bdJson<Issue[]>(dir, ['show', hash])[0]?.id).toBe(issue.id);
    expect(bdJson<Issue[]>(dir, ['show', hash.slice(1)])[0]?.id).toBe(issue.id);
  });

  it('update --claim sets assignee + in_progress; a second claimer is refused', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const issue = bdJson<Issue>(dir, ['create', 'Claim me']);
    const [claimed] = bdJson<Issue[]>(dir, ['update', issue.id, '--claim'], {
      env: { BD_ACTOR: 'agent-1' },
    });
    expect(claimed).toMatchObject({ assignee: 'agent-1', status: 'in_progress' });
    const loser = bd(dir, ['update', issue.id, '--claim'], { env: { BD_ACTOR: 'agent-2' } });
    expect(loser.code).toBe(1);
    expect(loser.stderr).toContain(`error: ${issue.id} is already claimed by agent-1`);
    expect(jsonlById(dir).get(issue.id)).toMatchObject({ assignee: 'agent-1' });
  });

  it('dep add / remove / tree, blocked, ready and stats', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const a = bdJson<Issue>(dir, ['create', 'A']);
    const b = bdJson<Issue>(dir, ['create', 'B']);
    const c = bdJson<Issue>(dir, ['create', 'C']);
    const dep = bdJson<Record<string, unknown>>(dir, ['dep', 'add', a.id, b.id]);
    expect(dep).toMatchObject({ issue_id: a.id, depends_on_id: b.id, type: 'blocks' });
    bdJson(dir, ['dep', 'add', b.id, c.id, '-t', 'blocks']);
    expect(jsonlById(dir).get(a.id)?.dependencies).toEqual([
      expect.objectContaining({ depends_on_id: b.id }),
    ]);
    const tree = bdJson<{ id: string; children: { id: string; children: { id: string }[] }[] }>(
      dir,
      ['dep', 'tree', a.id],
    );
    expect(tree.id).toBe(a.id);
    expect(tree.children[0]?.id).toBe(b.id);
    expect(tree.children[0]?.children[0]?.id).toBe(c.id);
    const blocked = bdJson<{ id: string; blocked_by: string[] }[]>(dir, ['blocked']);
    expect(blocked.map((x) => [x.id, x.blocked_by])).toEqual(
      expect.arrayContaining([
        [a.id, [b.id]],
        [b.id, [c.id]],
      ]),
    );
    expect(bdJson<Issue[]>(dir, ['ready']).map((i) => i.id)).toEqual([c.id]);
    const stats = bdJson<{ total: number; ready: number; blocked: number }>(dir, ['stats']);
    expect(stats).toMatchObject({ total: 3, ready: 1, blocked: 2 });
    bdJson(dir, ['dep', 'remove', a.id, b.id]);
    expect(jsonlById(dir).get(a.id)).not.toHaveProperty('dependencies');
    expect(
      bdJson<Issue[]>(dir, ['ready'])
        .map((i) => i.id)
        .sort(),
    ).toEqual([a.id, c.id].sort());
    expect(bd(dir, ['dep', 'tree', b.id]).stdout).toContain(c.id);
  });

  it('delete makes a tombstone in issues.jsonl', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const issue = bdJson<Issue>(dir, ['create', 'Doomed', '-t', 'bug']);
    const [dead] = bdJson<Issue[]>(dir, ['delete', issue.id, '-r', 'dup']);
    expect(dead).toMatchObject({
      status: 'tombstone',
      original_type: 'bug',
      deleted_by: 'tester',
      delete_reason: 'dup',
    });
    expect(jsonlById(dir).get(issue.id)).toMatchObject({ status: 'tombstone' });
    expect(bdJson<Issue[]>(dir, ['list'])).toEqual([]);
  });

  it('export and import round trip; config sets custom statuses', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    bdJson(dir, ['create', 'One']);
    bdJson(dir, ['create', 'Two']);
    const out = join(dir, 'copy.jsonl');
    expect(bdJson<{ count: number }>(dir, ['export', '-o', out]).count).toBe(2);
    const other = initProject(tempDir('bd-'), 'gt');
    const result = bdJson<{ created: number }>(other, ['import', out]);
    expect(result.created).toBe(2);
    expect(readJsonl(other)).toEqual(readJsonl(dir));
    expect(bdJson<{ unchanged: number }>(other, ['import', out]).unchanged).toBe(2);
    expect(bd(other, ['export', '-o', '-']).stdout).toBe(readFileSync(out, 'utf8'));
    bdJson(other, ['config', 'set', 'status.custom', 'review,qa']);
    expect(bdJson<{ value: string }>(other, ['config', 'get', 'status.custom']).value).toBe(
      'review,qa',
    );
    const id = readJsonl(other)[0]?.id as string;
    expect(bdJson<Issue[]>(other, ['update', id, '--status', 'review'])[0]?.status).toBe('review');
  });

  it('BEADS_DIR picks the database; without it bd walks up to .beads', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    bdJson(dir, ['create', 'Here']);
    const elsewhere = tempDir('bd-');
    const viaEnv = bdJson<Issue[]>(elsewhere, ['list'], {
      env: { BEADS_DIR: join(dir, '.beads') },
    });
    expect(viaEnv).toHaveLength(1);
    expect(bdJson<Issue[]>(elsewhere, ['list', '--db', join(dir, '.beads')])).toHaveLength(1);
    writeFileSync(join(dir, 'sub.txt'), '');
    const missing = bd(elsewhere, ['list']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error: no \.beads directory found/);
  });
});
