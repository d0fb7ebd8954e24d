/**
 * Three-way merge of issues.jsonl by field rules (never conflict markers):
 * - a side that did not change an issue (or a field) takes the other side's version;
 * - tombstones win until they expire (30 days after deleted_at);
 * - closed beats open; otherwise the later updated_at wins a real conflict;
 * - notes edited on both sides are concatenated;
 * - labels and dependencies merge as sets where removals win.
 */
import { orderedIssue } from './jsonl.js';
import { TOMBSTONE_TTL_MS, type BeadDependency, type BeadIssue } from './types.js';

type Fields = Record<string, unknown>;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const time = (stamp: unknown): number => (typeof stamp === 'string' ? Date.parse(stamp) : 0) || 0;

function liveTombstone(issue: BeadIssue | undefined, nowMs: number): boolean {
  return issue?.status === 'tombstone' && nowMs - time(issue.deleted_at) < TOMBSTONE_TTL_MS;
}

function depKey(dep: BeadDependency): string {
  return `${dep.issue_id}\u0000${dep.depends_on_id}\u0000${dep.type ?? 'blocks'}`;
}

/** Set merge keyed by `key`: removals on either side win, additions on either side are kept. */
function mergeSet<T>(base: T[], ours: T[], theirs: T[], key: (item: T) => string): T[] {
  const inBase = new Set(base.map(key));
  const inOurs = new Set(ours.map(key));
  const inTheirs = new Set(theirs.map(key));
  const out: T[] = [];
  const seen = new Set<string>();
  for (const item of [...ours, ...theirs]) {
    const k = key(item);
    if (seen.has(k)) continue;
    seen.add(k);
    const removed = inBase.has(k) && (!inOurs.has(k) || !inTheirs.has(k));
    if (!removed) out.push(item);
  }
  return out;
}

function concatNotes(ours: unknown, theirs: unknown): string {
  const a = typeof ours === 'string' ? ours : '';
  const b = typeof theirs === 'string' ? theirs : '';
  if (a === '' || b.includes(a)) return b;
  if (b === '' || a.includes(b)) return a;
  return `${a}\n\n${b}`;
}

const CLOSE_FIELDS = new Set(['status', 'closed_at', 'close_reason']);
const SET_FIELDS = new Set(['labels', 'dependencies', 'updated_at']);

function pickStatusSide(ours: BeadIssue, theirs: BeadIssue, oursNewer: boolean): BeadIssue {
  if (ours.status === 'closed' && theirs.status !== 'closed') return ours;
  if (theirs.status === 'closed' && ours.status !== 'closed') return theirs;
  return oursNewer ? ours : theirs;
}

/** Merge one issue edited on both sides (base may be missing when both created it). */
export function mergeIssue(
  base: BeadIssue | undefined,
  ours: BeadIssue,
  theirs: BeadIssue,
): BeadIssue {
  const oursNewer = time(ours.updated_at) >= time(theirs.updated_at);
  const b: Fields = base ?? {};
  const out: Fields = {};
  const keys = new Set([...Object.keys(ours), ...Object.keys(theirs)]);
  for (const key of keys) {
    if (CLOSE_FIELDS.has(key) || SET_FIELDS.has(key)) continue;
    const o = ours[key];
    const t = theirs[key];
    let value: unknown;
    if (same(o, t)) value = o;
    else if (same(o, b[key])) value = t;
    else if (same(t, b[key])) value = o;
    else if (key === 'notes') value = concatNotes(o, t);
    else value = oursNewer ? o : theirs[key];
    if (value !== undefined) out[key] = value;
  }
  const statusSide = pickStatusSide(ours, theirs, oursNewer);
  for (const key of CLOSE_FIELDS) {
    if (statusSide[key] !== undefined) out[key] = statusSide[key];
  }
  const labels = mergeSet(
    (base?.labels ?? []) as string[],
    (ours.labels ?? []) as string[],
    (theirs.labels ?? []) as string[],
    String,
  );
  if (labels.length > 0) out.labels = labels.sort();
  const deps = mergeSet(
    base?.dependencies ?? [],
    ours.dependencies ?? [],
    theirs.dependencies ?? [],
    depKey,
  );
  if (deps.length > 0) out.dependencies = deps;
  else if (Array.isArray(ours.dependencies) && Array.isArray(theirs.dependencies)) {
    out.dependencies = [];
  }
  out.updated_at = oursNewer ? ours.updated_at : theirs.updated_at;
  return orderedIssue(out as BeadIssue);
}

function mergeOne(
  base: BeadIssue | undefined,
  ours: BeadIssue | undefined,
  theirs: BeadIssue | undefined,
  nowMs: number,
): BeadIssue | undefined {
  if (ours === undefined && theirs === undefined) return undefined;
  if (liveTombstone(ours, nowMs) && !liveTombstone(theirs, nowMs)) return ours;
  if (liveTombstone(theirs, nowMs) && !liveTombstone(ours, nowMs)) return theirs;
  if (ours === undefined || theirs === undefined) {
    const present = (ours ?? theirs) as BeadIssue;
    // Gone on one side: deleted there unless the other side changed it since base.
    if (base !== undefined && same(present, base)) return undefined;
    return present;
  }
  if (same(ours, theirs)) return ours;
  if (base !== undefined && same(ours, base)) return theirs;
  if (base !== undefined && same(theirs, base)) return ours;
  return mergeIssue(base, ours, theirs);
}

export interface MergeResult {
  issues: BeadIssue[];
  /** Ids edited on both sides (merged by the field rules). */
  conflicts: string[];
}

/** Merge three versions of the issue list. */
export function mergeIssues(
  base: readonly BeadIssue[],
  ours: readonly BeadIssue[],
  theirs: readonly BeadIssue[],
  nowMs = Date.now(),
): MergeResult {
  const index = (list: readonly BeadIssue[]) => new Map(list.map((i) => [i.id, orderedIssue(i)]));
  const b = index(base);
  const o = index(ours);
  const t = index(theirs);
  const ids = [...new Set([...o.keys(), ...t.keys(), ...b.keys()])].sort();
  const issues: BeadIssue[] = [];
  const conflicts: string[] = [];
  for (const id of ids) {
    const bi = b.get(id);
    const oi = o.get(id);
    const ti = t.get(id);
    if (oi && ti && !same(oi, ti) && !same(oi, bi) && !same(ti, bi)) conflicts.push(id);
    const merged = mergeOne(bi, oi, ti, nowMs);
    if (merged !== undefined) issues.push(merged);
  }
  return { issues, conflicts };
}
