// A real-beads-style issues.jsonl survives import → export with every field of every line.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import { bd, bdJson, initProject, readJsonl } from './bd-helper.js';
import { generateRealBeadsJsonl } from './fixture.js';

type Rec = Record<string, unknown>;

describe('bd import / export of a real beads issues.jsonl', () => {
  it('reproduces every line’s content (key order aside), thousands of lines', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const { text, records } = generateRealBeadsJsonl({ issues: 3000 });
    const kinds = new Set(
      records.flatMap((r) => ((r.dependencies as Rec[] | undefined) ?? []).map((d) => d.type)),
    );
    expect([...kinds].sort()).toEqual([
      'blocks',
      'discovered-from',
      'parent-child',
      'related',
      'replies-to',
      'tracks',
      'waits-for',
    ]);
    expect(records.filter((r) => r.status === 'tombstone').length).toBeGreaterThan(50);
    expect(records.filter((r) => /\.\d+$/.test(String(r.id))).length).toBeGreaterThan(300);
    expect(records.filter((r) => r.comments !== undefined).length).toBeGreaterThan(100);
    expect(records.filter((r) => r.content_hash !== undefined).length).toBeGreaterThan(1000);
    writeFileSync(join(dir, 'real.jsonl'), text);
    const result = bdJson<{ created: number }>(dir, ['import', 'real.jsonl']);
    expect(result.created).toBe(3000);
    bdJson(dir, ['export', '-o', 'out.jsonl']);
    const out = readFileSync(join(dir, 'out.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec);
    expect(out.map((r) => r.id)).toEqual(records.map((r) => r.id));
    for (let i = 0; i < records.length; i++) expect(out[i]).toEqual(records[i]);
    expect(readJsonl(dir)).toEqual(records); // the store's own issues.jsonl too
    // and a second import of our export changes nothing
    expect(bdJson<{ unchanged: number }>(dir, ['import', 'out.jsonl']).unchanged).toBe(3000);
  });

  it('keeps custom statuses, custom types, unknown fields; outside targets never block', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const lines = [
      {
        id: 'gt-a',
        title: 'custom',
        status: 'review',
        priority: 1,
        issue_type: 'spike',
        created_at: '2025-01-01T00:00:00.5-07:00',
        updated_at: '2025-01-01T00:00:00.5-07:00',
        quality_score: 0.9,
        wisp: { kind: 'patrol' },
      },
      {
        id: 'gt-b',
        title: 'waits outside',
        status: 'open',
        priority: 0,
        issue_type: 'task',
        created_at: '2025-01-01T00:00:00Z',
        updated_at: '2025-01-01T00:00:00Z',
        dependencies: [
          {
            issue_id: 'gt-b',
            depends_on_id: 'ext-zzz',
            type: 'blocks',
            created_at: '2025-01-01T00:00:00Z',
            created_by: 'x',
            metadata: '{}',
          },
        ],
      },
    ];
    writeFileSync(join(dir, 'in.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
    bdJson(dir, ['import', 'in.jsonl']);
    expect(readJsonl(dir)).toEqual(lines);
    expect(bdJson<Rec[]>(dir, ['ready']).map((r) => r.id)).toEqual(['gt-b']);
    expect(bdJson<Rec[]>(dir, ['list', '-s', 'review']).map((r) => r.id)).toEqual(['gt-a']);
    // editing through bd keeps the unknown fields
    bdJson(dir, ['update', 'gt-a', '--priority', '3']);
    expect(readJsonl(dir)[0]).toMatchObject({
      quality_score: 0.9,
      wisp: { kind: 'patrol' },
      priority: 3,
    });
  });

  it('decides by content and updated_at; never resurrects a tombstone', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    const base = {
      id: 'gt-x',
      title: 'v1',
      status: 'open',
      priority: 2,
      issue_type: 'task',
      created_at: '2025-01-01T00:00:00Z',
      updated_at: '2025-01-02T00:00:00Z',
    };
    const write = (name: string, rec: Rec) =>
      writeFileSync(join(dir, name), `${JSON.stringify(rec)}\n`);
    write('v1.jsonl', base);
    bdJson(dir, ['import', 'v1.jsonl']);
    write('older.jsonl', { ...base, title: 'older', updated_at: '2025-01-01T12:00:00Z' });
    expect(bdJson<{ skipped: number }>(dir, ['import', 'older.jsonl']).skipped).toBe(1);
    write('newer.jsonl', { ...base, title: 'newer', updated_at: '2025-01-03T00:00:00Z' });
    expect(bdJson<{ updated: number }>(dir, ['import', 'newer.jsonl']).updated).toBe(1);
    expect(readJsonl(dir)[0]?.title).toBe('newer');
    bdJson(dir, ['delete', 'gt-x']);
    write('zombie.jsonl', { ...base, title: 'zombie', updated_at: '2099-01-01T00:00:00Z' });
    expect(bdJson<{ skipped: number }>(dir, ['import', 'zombie.jsonl']).skipped).toBe(1);
    expect(readJsonl(dir)[0]).toMatchObject({ status: 'tombstone' });
    expect(bd(dir, ['list', '--json']).stdout.trim()).toBe('[]');
  });

  it('a fresh clone with only issues.jsonl rebuilds the database on first use', () => {
    const dir = initProject(tempDir('bd-'), 'gt');
    bdJson(dir, ['create', 'survives']);
    const other = tempDir('bd-');
    mkdirSync(join(other, '.beads'));
    copyFileSync(join(dir, '.beads', 'issues.jsonl'), join(other, '.beads', 'issues.jsonl'));
    copyFileSync(join(dir, '.beads', 'config.yaml'), join(other, '.beads', 'config.yaml'));
    expect(bdJson<Rec[]>(other, ['list']).map((r) => r.title)).toEqual(['survives']);
    expect(bdJson<Rec>(other, ['create', 'next']).id).toMatch(/^gt-/);
  });
});
