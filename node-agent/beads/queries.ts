/**
 * Read side: list, ready, blocked, stats. The ready rule (BEADS.md): open or in_progress, not
 * pinned, and not blocked — blocked means a `blocks` edge to an issue that is open, in_progress
 * or blocked, or being (transitively, depth ≤ 50) a parent-child child of a blocked issue. An
 * open parent does not block its children; children never block their parent; a target that is
 * not in the database never blocks.
 */
import { blockedChecker } from './ready-walk.js';
import type { BeadsStore } from './store.js';
import {
  BLOCKING_STATUSES,
  MAX_BLOCK_DEPTH,
  type BeadIssue,
  type IssueFilter,
  type ReadyOptions,
} from './types.js';

const BLOCKERS = BLOCKING_STATUSES.map((s) => `'${s}'`).join(', ');

/** CTE naming every blocked issue id (`blocked_transitively`). */
export const BLOCKED_CTE = `
WITH RECURSIVE
blocked_directly(issue_id) AS (
  SELECT DISTINCT d.issue_id FROM dependencies d INDEXED BY dependencies_type
  JOIN issues b ON b.id = d.depends_on_id
  WHERE d.type = 'blocks' AND b.status IN (${BLOCKERS})
),
blocked_transitively(issue_id, depth) AS (
  SELECT issue_id, 0 FROM blocked_directly
  UNION
  SELECT d.issue_id, bt.depth + 1 FROM blocked_transitively bt
  JOIN dependencies d INDEXED BY dependencies_target
    ON d.depends_on_id = bt.issue_id AND d.type = 'parent-child'
  WHERE bt.depth < ${MAX_BLOCK_DEPTH}
)`;

interface Where {
  clauses: string[];
  params: unknown[];
}

function filterWhere(filter: IssueFilter | ReadyOptions, where: Where): void {
  if (filter.assignee !== undefined) {
    where.clauses.push('i.assignee = ?');
    where.params.push(filter.assignee);
  }
  if (filter.issueType !== undefined) {
    where.clauses.push('i.issue_type = ?');
    where.params.push(filter.issueType);
  }
  if (filter.priority !== undefined) {
    where.clauses.push('i.priority = ?');
    where.params.push(filter.priority);
  }
  if ('label' in filter && filter.label !== undefined) {
    where.clauses.push('EXISTS (SELECT 1 FROM labels l WHERE l.issue_id = i.id AND l.label = ?)');
    where.params.push(filter.label);
  }
}

function parseRows(rows: unknown[]): BeadIssue[] {
  return (rows as string[]).map((text) => JSON.parse(text) as BeadIssue);
}

/** `bd list`: all but tombstones by default; priority ascending, then newest first. */
export function listIssues(store: BeadsStore, filter: IssueFilter = {}): BeadIssue[] {
  const where: Where = { clauses: [], params: [] };
  if (filter.status === undefined) where.clauses.push("i.status != 'tombstone'");
  else if (filter.status !== 'all') {
    where.clauses.push('i.status = ?');
    where.params.push(filter.status);
  }
  filterWhere(filter, where);
  const sql = `SELECT i.record FROM issues i
    ${where.clauses.length > 0 ? `WHERE ${where.clauses.join(' AND ')}` : ''}
    ORDER BY i.priority ASC, i.created_at DESC, i.id ASC
    ${filter.limit !== undefined && filter.limit > 0 ? `LIMIT ${Math.floor(filter.limit)}` : ''}`;
  return parseRows(
    store
      .sql(sql)
      .pluck()
      .all(...where.params),
  );
}

const HYBRID_WINDOW_MS = 48 * 60 * 60 * 1000;

function readyOrder(options: ReadyOptions, params: unknown[]): string {
  switch (options.sort ?? 'hybrid') {
    case 'priority':
      return 'i.priority ASC, i.created_at ASC, i.id ASC';
    case 'oldest':
      return 'i.created_at ASC, i.id ASC';
    case 'hybrid': {
      // Recent issues (48 h) first by priority; older ones after, oldest first (no starvation).
      const cutoff = new Date(Date.now() - HYBRID_WINDOW_MS).toISOString();
      params.push(cutoff, cutoff);
      return `CASE WHEN i.created_at >= ? THEN 0 ELSE 1 END,
        CASE WHEN i.created_at >= ? THEN i.priority ELSE 0 END, i.created_at ASC, i.id ASC`;
    }
  }
}

/** Pages up to this size walk candidates one by one (ready-walk.ts); larger ones use the CTE. */
const WALK_LIMIT = 100;

/** The walk's candidate order as index-friendly segments (hybrid = recent by priority, then old). */
function walkSegments(
  options: ReadyOptions,
): { where: string; order: string; params: unknown[] }[] {
  const byPriority = 'i.priority ASC, i.created_at ASC, i.id ASC';
  const byAge = 'i.created_at ASC, i.id ASC';
  switch (options.sort ?? 'hybrid') {
    case 'priority':
      return [{ where: '1', order: byPriority, params: [] }];
    case 'oldest':
      return [{ where: '1', order: byAge, params: [] }];
    case 'hybrid': {
      const cutoff = new Date(Date.now() - HYBRID_WINDOW_MS).toISOString();
      return [
        { where: 'i.created_at >= ?', order: byPriority, params: [cutoff] },
        { where: 'i.created_at < ?', order: byAge, params: [cutoff] },
      ];
    }
  }
}

function readyByWalk(store: BeadsStore, options: ReadyOptions, limit: number): string[] {
  const isBlocked = blockedChecker(store);
  const ids: string[] = [];
  for (const segment of walkSegments(options)) {
    const where: Where = {
      clauses: ["i.status IN ('open', 'in_progress')", 'i.pinned = 0', segment.where],
      params: [],
    };
    filterWhere(options, where);
    const candidates = store
      .sql(
        `SELECT i.id FROM issues i WHERE ${where.clauses.join(' AND ')} ORDER BY ${segment.order}`,
      )
      .pluck();
    for (const id of candidates.iterate(...segment.params, ...where.params) as Iterable<string>) {
      if (!isBlocked(id)) ids.push(id);
      if (ids.length >= limit) return ids;
    }
  }
  return ids;
}

/** `bd ready`: work that can start now (limit 0 = all). */
export function readyIssues(store: BeadsStore, options: ReadyOptions = {}): BeadIssue[] {
  const limit = options.limit ?? 10;
  const ids =
    limit > 0 && limit <= WALK_LIMIT && options.strategy !== 'cte'
      ? readyByWalk(store, options, limit)
      : readyByCte(store, options, limit);
  const record = store.sql('SELECT record FROM issues WHERE id = ?').pluck();
  return ids.map((id) => JSON.parse(record.get(id) as string) as BeadIssue);
}

function readyByCte(store: BeadsStore, options: ReadyOptions, limit: number): string[] {
  const where: Where = {
    clauses: [
      "i.status IN ('open', 'in_progress')",
      'i.pinned = 0',
      'i.id NOT IN (SELECT issue_id FROM blocked_transitively)',
    ],
    params: [],
  };
  filterWhere(options, where);
  const orderParams: unknown[] = [];
  const order = readyOrder(options, orderParams);
  // Sort ids only (small rows); the caller fetches the records of the page.
  const sql = `${BLOCKED_CTE}
    SELECT i.id FROM issues i WHERE ${where.clauses.join(' AND ')}
    ORDER BY ${order} ${limit > 0 ? `LIMIT ${Math.floor(limit)}` : ''}`;
  return store
    .sql(sql)
    .pluck()
    .all(...where.params, ...orderParams) as string[];
}

export interface BlockedIssue {
  issue: BeadIssue;
  /** Open/in_progress/blocked issues it waits on through `blocks` edges. */
  blocked_by: string[];
  /** The blocked ancestor when blocked only through its parent chain. */
  blocked_via_parent?: string;
}

/** `bd blocked`: open work that is blocked, with what blocks it. */
export function blockedIssues(store: BeadsStore): BlockedIssue[] {
  const rows = store
    .sql(
      `${BLOCKED_CTE}
      SELECT i.record FROM issues i
      WHERE i.status IN ('open', 'in_progress', 'blocked')
        AND i.id IN (SELECT issue_id FROM blocked_transitively)
      ORDER BY i.priority ASC, i.created_at ASC, i.id ASC`,
    )
    .pluck()
    .all();
  const blockers = store.sql(
    `SELECT d.depends_on_id FROM dependencies d JOIN issues b ON b.id = d.depends_on_id
     WHERE d.issue_id = ? AND d.type = 'blocks' AND b.status IN (${BLOCKERS}) ORDER BY b.id`,
  );
  return parseRows(rows).map((issue) => {
    const direct = blockers.pluck().all(issue.id) as string[];
    const entry: BlockedIssue = { issue, blocked_by: direct };
    if (direct.length === 0) {
      const parent = (issue.dependencies ?? []).find((d) => d.type === 'parent-child');
      if (parent !== undefined) entry.blocked_via_parent = parent.depends_on_id;
    }
    return entry;
  });
}

export interface BeadsStats {
  total: number;
  by_status: Record<string, number>;
  by_type: Record<string, number>;
  ready: number;
  blocked: number;
}

/** `bd stats`: counts (tombstones counted under by_status only). */
export function beadsStats(store: BeadsStore): BeadsStats {
  const byStatus: Record<string, number> = {};
  for (const row of store
    .sql('SELECT status, count(*) AS n FROM issues GROUP BY status ORDER BY status')
    .all() as { status: string; n: number }[]) {
    byStatus[row.status] = row.n;
  }
  const byType: Record<string, number> = {};
  for (const row of store
    .sql(
      "SELECT issue_type, count(*) AS n FROM issues WHERE status != 'tombstone' GROUP BY issue_type ORDER BY issue_type",
    )
    .all() as { issue_type: string; n: number }[]) {
    byType[row.issue_type] = row.n;
  }
  const count = (sql: string): number => Number(store.sql(sql).pluck().get());
  return {
    total: count("SELECT count(*) FROM issues WHERE status != 'tombstone'"),
    by_status: byStatus,
    by_type: byType,
    ready:
      count(`${BLOCKED_CTE} SELECT count(*) FROM issues i WHERE i.status IN ('open', 'in_progress')
      AND i.pinned = 0 AND i.id NOT IN (SELECT issue_id FROM blocked_transitively)`),
    blocked:
      count(`${BLOCKED_CTE} SELECT count(*) FROM issues i WHERE i.status IN ('open', 'in_progress', 'blocked')
      AND i.id IN (SELECT issue_id FROM blocked_transitively)`),
  };
}
