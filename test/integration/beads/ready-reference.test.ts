// The SQL ready rule against a plain reference implementation of BEADS.md, on random graphs.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockedIssues, initBeads, openBeads, readyIssues } from '../../../node-agent/index.js';
import type { BeadIssue } from '../../../node-agent/index.js';
import { tempDir } from '../../helpers/tmp.js';

const STATUSES = ['open', 'open', 'open', 'in_progress', 'blocked', 'closed', 'pinned', 'review'];
const T0 = '2025-01-01T00:00:00Z';

function randomGraph(seed: number, size: number): BeadIssue[] {
  let s = seed;
  const rand = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const issues: BeadIssue[] = [];
  for (let n = 0; n < size; n++) {
    const id = `q-${String(n).padStart(4, '0')}`;
    const issue: BeadIssue = {
      id,
      title: id,
      status: STATUSES[Math.floor(rand() * STATUSES.length)] as string,
      priority: 2,
      issue_type: 'task',
      created_at: T0,
      updated_at: T0,
    };
    if (rand() < 0.05) issue.pinned = true;
    if (rand() < 0.3) issue.assignee = 'a';
    if (rand() < 0.3) issue.issue_type = 'bug';
    issue.priority = Math.floor(rand() * 5);
    issue.created_at = new Date(Date.parse(T0) + Math.floor(rand() * 1e10)).toISOString();
    const deps = [];
    if (n > 0 && rand() < 0.5) {
      // parent-child toward an older issue: a forest with long lines
      const parent = rand() < 0.7 ? n - 1 : Math.floor(rand() * n);
      deps.push({
        issue_id: id,
        depends_on_id: `q-${String(parent).padStart(4, '0')}`,
        type: 'parent-child',
      });
    }
    if (n > 0 && rand() < 0.15) {
      const target =
        rand() < 0.1 ? 'elsewhere-1' : `q-${String(Math.floor(rand() * n)).padStart(4, '0')}`;
      deps.push({ issue_id: id, depends_on_id: target, type: rand() < 0.8 ? 'blocks' : 'related' });
    }
    if (deps.length > 0) issue.dependencies = deps;
    issues.push(issue);
  }
  return issues;
}

/** BEADS.md, written as plainly as possible. */
function referenceReady(issues: BeadIssue[]): string[] {
  const byId = new Map(issues.map((i) => [i.id, i]));
  const blocking = new Set(['open', 'in_progress', 'blocked']);
  const direct = (i: BeadIssue) =>
    (i.dependencies ?? []).some(
      (d) => d.type === 'blocks' && blocking.has(byId.get(d.depends_on_id)?.status ?? 'missing'),
    );
  const blocked = (i: BeadIssue): boolean => {
    if (direct(i)) return true;
    // ancestors up through parent-child edges, up to depth 50
    let frontier = [i];
    for (let depth = 1; depth <= 50; depth++) {
      const next: BeadIssue[] = [];
      for (const child of frontier) {
        for (const d of child.dependencies ?? []) {
          const parent = d.type === 'parent-child' ? byId.get(d.depends_on_id) : undefined;
          if (parent === undefined) continue;
          if (direct(parent)) return true;
          next.push(parent);
        }
      }
      frontier = next;
    }
    return false;
  };
  return issues
    .filter((i) => (i.status === 'open' || i.status === 'in_progress') && i.pinned !== true)
    .filter((i) => !blocked(i))
    .map((i) => i.id)
    .sort();
}

describe('ready matches the reference rule', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`random graph #${seed} (300 issues, parent lines, blocks, outside targets)`, () => {
      const beadsDir = join(tempDir('bd-ref-'), '.beads');
      initBeads({ beadsDir, prefix: 'q' });
      const store = openBeads(beadsDir);
      try {
        const issues = randomGraph(seed, 300);
        store.write(() => store.importLocked(issues));
        const ready = readyIssues(store, { limit: 0 })
          .map((i) => i.id)
          .sort();
        expect(ready).toEqual(referenceReady(issues));
        for (const sort of ['hybrid', 'priority', 'oldest'] as const) {
          for (const limit of [1, 10, 100]) {
            for (const filter of [{}, { priority: 1 }, { assignee: 'a' }, { issueType: 'bug' }]) {
              const options = { limit, sort, ...filter };
              const walk = readyIssues(store, options).map((i) => i.id);
              const cte = readyIssues(store, { ...options, strategy: 'cte' }).map((i) => i.id);
              expect(walk).toEqual(cte);
            }
          }
        }
        const blocked = new Set(blockedIssues(store).map((b) => b.issue.id));
        for (const id of ready) expect(blocked.has(id)).toBe(false);
      } finally {
        store.close();
      }
    });
  }
});
