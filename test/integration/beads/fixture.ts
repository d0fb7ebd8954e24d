/**
 * A generated, realistic real-beads issues.jsonl: Go-style timestamps (nanoseconds, offsets),
 * every field kind, content_hash and other fields we do not model, comments, tombstones, child
 * ids, every dependency type (plus custom ones, metadata, targets outside the file), custom
 * statuses and issue types. Deterministic (seeded) so failures reproduce.
 */
type Rec = Record<string, unknown>;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS =
  'refinery witness polecat convoy molecule mayor rig hook mail deacon patrol merge queue swarm beads sync ready claim epic wisp'.split(
    ' ',
  );
const OFFSETS = ['Z', '-07:00', '+02:00', '+05:30', '-04:00'];
const TYPES = [
  'bug',
  'feature',
  'task',
  'epic',
  'chore',
  'message',
  'merge-request',
  'molecule',
  'spike',
  'agent',
];
const STATUSES = [
  'open',
  'open',
  'open',
  'in_progress',
  'blocked',
  'closed',
  'closed',
  'pinned',
  'review',
  'hooked',
];
const DEP_TYPES = [
  'blocks',
  'blocks',
  'related',
  'discovered-from',
  'parent-child',
  'tracks',
  'waits-for',
  'replies-to',
];

export interface FixtureOptions {
  issues: number;
  prefix?: string;
  seed?: number;
}

export function generateRealBeadsJsonl(options: FixtureOptions): { text: string; records: Rec[] } {
  const rand = rng(options.seed ?? 42);
  const prefix = options.prefix ?? 'gt';
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const stamp = (base: number) => {
    const d = new Date(base + Math.floor(rand() * 3_600_000));
    const nanos = String(Math.floor(rand() * 1e9)).padStart(9, '0');
    const off = pick(OFFSETS);
    let shifted = d;
    if (off !== 'Z') {
      const sign = off.startsWith('-') ? -1 : 1;
      const [h, m] = off.slice(1).split(':').map(Number) as [number, number];
      shifted = new Date(d.getTime() + sign * (h * 60 + m) * 60_000);
    }
    return `${shifted.toISOString().slice(0, 19)}.${nanos}${off}`;
  };
  const records: Rec[] = [];
  const ids: string[] = [];
  const t0 = Date.UTC(2025, 0, 1);
  for (let n = 0; n < options.issues; n++) {
    const isChild = n > 10 && rand() < 0.2;
    const parentId = isChild
      ? (pick(ids.filter((id) => !id.includes('.')).slice(-50)) ?? ids[0])
      : undefined;
    const id =
      parentId !== undefined
        ? `${parentId}.${ids.filter((x) => x.startsWith(`${parentId}.`) && !x.slice(parentId.length + 1).includes('.')).length + 1}`
        : `${prefix}-${(n * 7919 + 1000).toString(36).padStart(4, '0')}`;
    const created = stamp(t0 + n * 600_000);
    const status = rand() < 0.06 ? 'tombstone' : pick(STATUSES);
    const rec: Rec = { id };
    if (rand() < 0.7)
      rec.content_hash = Array.from(
        { length: 64 },
        () => '0123456789abcdef'[Math.floor(rand() * 16)],
      ).join('');
    rec.title = `${words(3 + Math.floor(rand() * 6))} #${n}`;
    if (rand() < 0.8)
      rec.description = `${words(12)}\n\n- ${words(4)}\n- "quoted" \\ back\tslash ünïcödé ✓`;
    if (rand() < 0.2) rec.design = words(20);
    if (rand() < 0.2) rec.acceptance_criteria = `- [ ] ${words(5)}`;
    if (rand() < 0.3) rec.notes = words(8);
    rec.status = status;
    rec.priority = Math.floor(rand() * 5);
    rec.issue_type = status === 'tombstone' ? 'task' : pick(TYPES);
    if (status === 'in_progress' || rand() < 0.3)
      rec.assignee = pick(['alice', 'bob', 'gastown/polecats/nux', 'mayor']);
    if (rand() < 0.15) rec.estimated_minutes = Math.floor(rand() * 480);
    rec.created_at = created;
    rec.updated_at = stamp(t0 + n * 600_000 + 3_600_000);
    if (status === 'closed') {
      rec.closed_at = stamp(t0 + n * 600_000 + 7_200_000);
      rec.close_reason = pick(['Closed', 'Done', 'duplicate', 'merged in abc123']);
    }
    if (rand() < 0.1) rec.external_ref = `gh-${Math.floor(rand() * 9999)}`;
    if (rand() < 0.05) rec.sender = 'gastown/witness';
    if (rand() < 0.05) rec.ephemeral = rand() < 0.5;
    if (status === 'pinned' || rand() < 0.03) rec.pinned = true;
    if (rand() < 0.4)
      rec.labels = [
        ...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(WORDS))),
      ].sort();
    const deps: Rec[] = [];
    if (parentId !== undefined)
      deps.push({
        issue_id: id,
        depends_on_id: parentId,
        type: 'parent-child',
        created_at: created,
        created_by: 'mayor',
      });
    const nDeps = ids.length > 5 ? Math.floor(rand() * 3) : 0;
    for (let d = 0; d < nDeps; d++) {
      const dep: Rec = {
        issue_id: id,
        depends_on_id: rand() < 0.05 ? `other-${Math.floor(rand() * 999)}` : pick(ids),
        type: pick(DEP_TYPES),
        created_at: created,
        created_by: pick(['alice', 'bob']),
      };
      if (rand() < 0.2)
        dep.metadata =
          rand() < 0.5 ? '{"reason":"found while testing"}' : { gate: 'ci', attempts: 2 };
      if (deps.some((x) => x.depends_on_id === dep.depends_on_id && x.type === dep.type)) continue;
      deps.push(dep);
    }
    if (deps.length > 0) rec.dependencies = deps;
    else if (rand() < 0.02) rec.dependencies = [];
    if (rand() < 0.15) {
      rec.comments = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, c) => ({
        id: n * 10 + c,
        issue_id: id,
        author: pick(['alice', 'bob']),
        text: words(6),
        created_at: stamp(t0 + n * 600_000),
      }));
    }
    if (status === 'tombstone') {
      rec.deleted_at = stamp(t0 + n * 600_000 + 9_000_000);
      rec.deleted_by = 'alice';
      rec.delete_reason = 'duplicate';
      rec.original_type = pick(TYPES);
    }
    if (rand() < 0.1) rec.compaction_level = Math.floor(rand() * 3);
    if (rand() < 0.05) rec.source_repo = '.';
    if (rand() < 0.03) rec.await_type = 'gh:pr';
    if (rand() < 0.02) rec.nested_future_field = { a: [1, null, { b: true }], c: null };
    records.push(rec);
    ids.push(id);
  }
  records.sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1));
  return { text: records.map((r) => `${JSON.stringify(r)}\n`).join(''), records };
}
