/**
 * The ready rule for one issue at a time, for `bd ready -n <small>`: walk the candidates in sort
 * order and stop at the page size, instead of computing every blocked issue of the database (the
 * recursive CTE in queries.ts, used for large pages). Same rule, same answers (a test compares
 * both with a plain reference implementation).
 */
import type { BeadsStore } from './store.js';
import { BLOCKING_STATUSES, MAX_BLOCK_DEPTH } from './types.js';

const BLOCKERS = BLOCKING_STATUSES.map((s) => `'${s}'`).join(', ');

/** Returns a memoised "is this issue blocked?" for one query. */
export function blockedChecker(store: BeadsStore): (id: string) => boolean {
  const directStmt = store
    .sql(
      `SELECT 1 FROM dependencies d JOIN issues b ON b.id = d.depends_on_id
       WHERE d.issue_id = ? AND d.type = 'blocks' AND b.status IN (${BLOCKERS}) LIMIT 1`,
    )
    .pluck();
  const parentsStmt = store
    .sql("SELECT depends_on_id FROM dependencies WHERE issue_id = ? AND type = 'parent-child'")
    .pluck();
  const direct = new Map<string, boolean>();
  const isDirect = (id: string): boolean => {
    let value = direct.get(id);
    if (value === undefined) {
      value = directStmt.get(id) !== undefined;
      direct.set(id, value);
    }
    return value;
  };
  return (id: string): boolean => {
    if (isDirect(id)) return true;
    // Blocked through the parent chain: an ancestor within MAX_BLOCK_DEPTH is directly blocked.
    let frontier = [id];
    const seen = new Set(frontier);
    for (let depth = 1; depth <= MAX_BLOCK_DEPTH && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const child of frontier) {
        for (const parent of parentsStmt.all(child) as string[]) {
          if (isDirect(parent)) return true;
          if (!seen.has(parent)) {
            seen.add(parent);
            next.push(parent);
          }
        }
      }
      frontier = next;
    }
    return false;
  };
}
