// Malformed input and bad arguments: clear errors naming the problem, database untouched.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import { bd, bdJson, initProject } from './bd-helper.js';

type Issue = { id: string; status: string };

function projectWithIssues(): { dir: string; ids: string[]; jsonl: string } {
  const dir = initProject(tempDir('bd-'), 'gt');
  const ids = [bdJson<Issue>(dir, ['create', 'One']).id, bdJson<Issue>(dir, ['create', 'Two']).id];
  return { dir, ids, jsonl: readFileSync(join(dir, '.beads', 'issues.jsonl'), 'utf8') };
}

const good = (id: string) =>
  JSON.stringify({
    id,
    title: `t ${id}`,
    status: 'open',
    priority: 2,
    issue_type: 'task',
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
  });

describe('bd import of malformed JSONL', () => {
  const cases: [string, string, RegExp][] = [
    [
      'a truncated line',
      `${good('gt-a1')}\n{"id":"gt-a2","title":"cut sho\n${good('gt-a3')}\n`,
      /bad\.jsonl:2: truncated JSON line/,
    ],
    [
      'a conflict-marker line',
      `${good('gt-a1')}\n<<<<<<< HEAD\n${good('gt-a2')}\n=======\n`,
      /bad\.jsonl:2: git conflict marker/,
    ],
    [
      'a non-JSON line',
      `${good('gt-a1')}\n${good('gt-a2')}\nthis is not json\n`,
      /bad\.jsonl:3: not valid JSON/,
    ],
    [
      'a line without an id',
      `${good('gt-a1')}\n{"title":"no id"}\n`,
      /bad\.jsonl:2: issue has no "id"/,
    ],
  ];
  for (const [name, text, message] of cases) {
    it(`rejects ${name} naming the line, and leaves the database untouched`, () => {
      const { dir, ids, jsonl } = projectWithIssues();
      writeFileSync(join(dir, 'bad.jsonl'), text);
      const result = bd(dir, ['import', 'bad.jsonl']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/^hint: /m);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(
        bdJson<Issue[]>(dir, ['list'])
          .map((i) => i.id)
          .sort(),
      ).toEqual([...ids].sort());
      expect(readFileSync(join(dir, '.beads', 'issues.jsonl'), 'utf8')).toBe(jsonl);
    });
  }
});

describe('bd argument errors', () => {
  it('a status neither built-in nor configured', () => {
    const { dir, ids } = projectWithIssues();
    const result = bd(dir, ['update', ids[0] as string, '--status', 'review']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: invalid status "review"');
    expect(result.stderr).toMatch(
      /hint: use one of: open, in_progress, blocked, closed, tombstone, pinned/,
    );
  });

  it('bd dep add to a missing id', () => {
    const { dir, ids } = projectWithIssues();
    const result = bd(dir, ['dep', 'add', ids[0] as string, 'gt-zzzzzz']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: no issue found matching "gt-zzzzzz"');
    const created = bd(dir, ['create', 'x', '--deps', 'gt-nope']);
    expect(created.code).toBe(1);
    expect(bdJson<Issue[]>(dir, ['list'])).toHaveLength(2);
  });

  it('a bad priority names the accepted forms', () => {
    const { dir } = projectWithIssues();
    for (const bad of ['7', 'high', 'P9', '-1']) {
      const result = bd(dir, ['create', 'x', '-p', bad]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error: invalid priority "${bad}"`);
      expect(result.stderr).toContain('hint: use 0, 1, 2, 3, 4 or P0 … P4');
    }
  });

  it('a bad issue type, an empty title, a self edge and a cycle (with its path)', () => {
    const { dir, ids } = projectWithIssues();
    const [a, b] = ids as [string, string];
    expect(bd(dir, ['create', 'x', '-t', 'story']).stderr).toContain('invalid issue type "story"');
    expect(bd(dir, ['create', ' ']).stderr).toContain('title must be 1–500 characters');
    expect(bd(dir, ['create', 'x'.repeat(501)]).code).toBe(1);
    expect(bd(dir, ['dep', 'add', a, a]).stderr).toContain('cannot depend on itself');
    const c = bdJson<Issue>(dir, ['create', 'Three']).id;
    bdJson(dir, ['dep', 'add', a, b]);
    bdJson(dir, ['dep', 'add', b, c]);
    const cycle = bd(dir, ['dep', 'add', c, a]);
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toContain(`would make a cycle: ${c} → ${a} → ${b} → ${c}`);
  });

  it('an ambiguous short id lists the candidates', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    bdJson(dir, ['create', 'one', '--id', 'gt-abc1']);
    bdJson(dir, ['create', 'two', '--id', 'gt-abc2']);
    const result = bd(dir, ['show', 'abc']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ambiguous id "abc" matches 2 issues: gt-abc1, gt-abc2');
    expect(bd(dir, ['show', 'nothing-like-it']).stderr).toContain('no issue found matching');
  });

  it('usage errors exit 2; unknown commands too', () => {
    const { dir } = projectWithIssues();
    expect(bd(dir, ['create']).code).toBe(2);
    expect(bd(dir, ['frobnicate']).code).toBe(2);
    expect(bd(dir, ['list', '--no-such-flag']).code).toBe(2);
    expect(bd(dir, ['ready', '--sort', 'random']).code).toBe(2);
    expect(bd(dir, ['--help']).code).toBe(0);
    expect(bd(dir, ['--version']).stdout).toMatch(/^\d+\.\d+\.\d+ /);
    expect(bd(dir, []).code).toBe(2);
  });

  it('a command outside any beads project says how to start one', () => {
    const dir = tempDir('bd-');
    const result = bd(dir, ['ready']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/hint: run `bd init --prefix <prefix>`/);
  });
});
