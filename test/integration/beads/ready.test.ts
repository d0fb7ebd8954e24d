// The ready rule of BEADS.md on a graph built to cover each clause, through the real bd.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import { bdJson, initProject } from './bd-helper.js';

type Rec = Record<string, unknown>;
const T0 = '2025-06-01T00:00:00.000000000Z';

function issue(id: string, extra: Rec = {}, deps: [string, string][] = []): Rec {
  const rec: Rec = {
    id,
    title: id,
    status: 'open',
    priority: 2,
    issue_type: 'task',
    created_at: T0,
    updated_at: T0,
    ...extra,
  };
  if (deps.length > 0) {
    rec.dependencies = deps.map(([on, type]) => ({
      issue_id: id,
      depends_on_id: on,
      type,
      created_at: T0,
      created_by: 'x',
    }));
  }
  return rec;
}

function graph(): Rec[] {
  const g: Rec[] = [
    issue('r-open-blocker'),
    issue('r-blocked-by-open', {}, [['r-open-blocker', 'blocks']]),
    issue('r-closed-blocker', { status: 'closed', closed_at: T0, close_reason: 'Closed' }),
    issue('r-unblocked', {}, [['r-closed-blocker', 'blocks']]),
    issue('r-ip-blocker', { status: 'in_progress', assignee: 'a' }),
    issue('r-blocked-by-ip', {}, [['r-ip-blocker', 'blocks']]),
    issue('r-status-blocked', { status: 'blocked' }),
    issue('r-blocked-by-blocked', {}, [['r-status-blocked', 'blocks']]),
    issue('r-soft', {}, [
      ['r-open-blocker', 'related'],
      ['r-open-blocker', 'discovered-from'],
      ['r-open-blocker', 'tracks'],
    ]),
    issue('r-missing-target', {}, [['zz-not-here', 'blocks']]),
    issue('r-epic', { issue_type: 'epic' }),
    issue('r-epic.1', {}, [['r-epic', 'parent-child']]),
    issue('r-bepic', { issue_type: 'epic' }, [['r-open-blocker', 'blocks']]),
    issue('r-bepic.1', {}, [['r-bepic', 'parent-child']]),
    issue('r-bepic.1.1', {}, [['r-bepic.1', 'parent-child']]),
    issue('r-pepic', { issue_type: 'epic' }),
    issue('r-pepic.1', {}, [
      ['r-pepic', 'parent-child'],
      ['r-open-blocker', 'blocks'],
    ]),
    issue('r-pinned', { pinned: true }),
    issue('r-status-pinned', { status: 'pinned' }),
    issue('r-closed', { status: 'closed', closed_at: T0, close_reason: 'Closed' }),
    issue('r-tomb', {
      status: 'tombstone',
      deleted_at: T0,
      deleted_by: 'x',
      delete_reason: 'gone',
      original_type: 'task',
    }),
    issue('r-custom-status', { status: 'review' }),
    // diamond: d waits on b and c, which both wait on a
    issue('r-da'),
    issue('r-db', {}, [['r-da', 'blocks']]),
    issue('r-dc', {}, [['r-da', 'blocks']]),
    issue('r-dd', {}, [
      ['r-db', 'blocks'],
      ['r-dc', 'blocks'],
    ]),
  ];
  // a 50-deep chain of blocks edges: chain-01 waits on chain-00, …
  for (let n = 0; n < 50; n++) {
    const id = `r-chain-${String(n).padStart(2, '0')}`;
    g.push(issue(id, {}, n === 0 ? [] : [[`r-chain-${String(n - 1).padStart(2, '0')}`, 'blocks']]));
  }
  // a 55-deep parent-child line under a blocked root: depth ≤ 50 is blocked, deeper is not
  g.push(issue('r-deep', {}, [['r-open-blocker', 'blocks']]));
  let parent = 'r-deep';
  for (let depth = 1; depth <= 55; depth++) {
    const id = `r-deep-${String(depth).padStart(2, '0')}`;
    g.push(issue(id, {}, [[parent, 'parent-child']]));
    parent = id;
  }
  return g;
}

function setup(): string {
  const dir = initProject(tempDir('bd-'), 'r');
  writeFileSync(
    join(dir, 'graph.jsonl'),
    graph()
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  bdJson(dir, ['import', 'graph.jsonl']);
  return dir;
}

const ready = (dir: string, ...args: string[]) =>
  new Set(bdJson<Rec[]>(dir, ['ready', '-n', '0', ...args]).map((r) => String(r.id)));

describe('bd ready semantics', () => {
  it('applies every clause of the rule', () => {
    const dir = setup();
    const r = ready(dir);
    const yes = [
      'r-open-blocker',
      'r-unblocked',
      'r-ip-blocker',
      'r-soft',
      'r-missing-target',
      'r-epic',
      'r-epic.1',
      'r-pepic',
      'r-da',
      'r-chain-00',
    ];
    const no = [
      'r-blocked-by-open',
      'r-blocked-by-ip',
      'r-blocked-by-blocked',
      'r-status-blocked',
      'r-closed-blocker',
      'r-bepic',
      'r-bepic.1',
      'r-bepic.1.1',
      'r-pepic.1',
      'r-pinned',
      'r-status-pinned',
      'r-closed',
      'r-tomb',
      'r-custom-status',
      'r-db',
      'r-dc',
      'r-dd',
      'r-chain-01',
      'r-chain-49',
      'r-deep',
    ];
    for (const id of yes) expect(r, `${id} should be ready`).toContain(id);
    for (const id of no) expect(r, `${id} should not be ready`).not.toContain(id);
  });

  it('transitive parent-child blocking stops at depth 50', () => {
    const r = ready(setup());
    for (let depth = 1; depth <= 50; depth++)
      expect(r).not.toContain(`r-deep-${String(depth).padStart(2, '0')}`);
    for (let depth = 51; depth <= 55; depth++)
      expect(r).toContain(`r-deep-${String(depth).padStart(2, '0')}`);
  });

  it('a 50-deep chain opens one link at a time', () => {
    const dir = setup();
    for (let n = 0; n < 3; n++) {
      const id = `r-chain-${String(n).padStart(2, '0')}`;
      const chain = [...ready(dir)].filter((x) => x.startsWith('r-chain-'));
      expect(chain).toEqual([id]);
      bdJson(dir, ['close', id]);
    }
    const blocked = bdJson<{ id: string }[]>(dir, ['blocked']).map((b) => b.id);
    expect(blocked).toContain('r-chain-49');
    expect(blocked).not.toContain('r-chain-03');
  });

  it('a diamond unblocks only when both sides are done', () => {
    const dir = setup();
    bdJson(dir, ['close', 'r-da']);
    let r = ready(dir);
    expect(r).toContain('r-db');
    expect(r).toContain('r-dc');
    expect(r).not.toContain('r-dd');
    bdJson(dir, ['close', 'r-db']);
    expect(ready(dir)).not.toContain('r-dd');
    bdJson(dir, ['close', 'r-dc']);
    r = ready(dir);
    expect(r).toContain('r-dd');
  });

  it('closing the blocker of an epic frees its whole subtree', () => {
    const dir = setup();
    bdJson(dir, ['close', 'r-open-blocker']);
    const r = ready(dir);
    for (const id of [
      'r-bepic',
      'r-bepic.1',
      'r-bepic.1.1',
      'r-pepic.1',
      'r-blocked-by-open',
      'r-deep',
      'r-deep-10',
    ]) {
      expect(r).toContain(id);
    }
  });

  it('filters and the three sort policies', () => {
    const dir = initProject(tempDir('bd-'), 's');
    const ago = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
    const recs = [
      issue('s-old1', { priority: 0, created_at: ago(240), updated_at: ago(240) }),
      issue('s-old2', { priority: 4, created_at: ago(120), updated_at: ago(120), assignee: 'bob' }),
      issue('s-new1', { priority: 3, created_at: ago(1), updated_at: ago(1), issue_type: 'bug' }),
      issue('s-new2', { priority: 1, created_at: ago(2), updated_at: ago(2) }),
    ];
    writeFileSync(join(dir, 's.jsonl'), recs.map((r) => JSON.stringify(r)).join('\n'));
    bdJson(dir, ['import', 's.jsonl']);
    const order = (...args: string[]) => bdJson<Rec[]>(dir, ['ready', ...args]).map((r) => r.id);
    expect(order()).toEqual(['s-new2', 's-new1', 's-old1', 's-old2']);
    expect(order('--sort', 'hybrid')).toEqual(['s-new2', 's-new1', 's-old1', 's-old2']);
    expect(order('--sort', 'priority')).toEqual(['s-old1', 's-new2', 's-new1', 's-old2']);
    expect(order('--sort', 'oldest')).toEqual(['s-old1', 's-old2', 's-new2', 's-new1']);
    expect(order('-n', '2', '--sort', 'oldest')).toEqual(['s-old1', 's-old2']);
    expect(order('-a', 'bob')).toEqual(['s-old2']);
    expect(order('-t', 'bug')).toEqual(['s-new1']);
    expect(order('-p', 'P1')).toEqual(['s-new2']);
  });
});
