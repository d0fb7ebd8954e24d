/**
 * The merge-oracle's first step (seed: "build overlap graph, classify disjointness"): entries
 * whose changed files are disjoint could be tested together; entries that touch a common file
 * form a sequential chain. Groups are the connected components of the overlap graph; inside a
 * group the order is the queue order.
 */
export interface Changeset {
  id: string;
  files: readonly string[];
}

export interface OverlapGroup {
  /** 1-based, in the queue order of each group's first entry. */
  group: number;
  /** Entry ids in queue order: a sequential chain when there is more than one. */
  entries: string[];
  /** Files touched by more than one entry of the group. */
  shared: string[];
}

/** Connected components of "touches a common file", keeping the input (queue) order. */
export function overlapGroups(changesets: readonly Changeset[]): OverlapGroup[] {
  const parent = changesets.map((_, i) => i);
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root] ?? root;
    parent[i] = root;
    return root;
  };
  const owner = new Map<string, number>();
  const touches = new Map<string, number>();
  changesets.forEach((c, i) => {
    for (const file of new Set(c.files)) {
      touches.set(file, (touches.get(file) ?? 0) + 1);
      const first = owner.get(file);
      if (first === undefined) owner.set(file, i);
      else {
        const [a, b] = [find(first), find(i)];
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
  });
  const byRoot = new Map<number, OverlapGroup>();
  const groups: OverlapGroup[] = [];
  changesets.forEach((c, i) => {
    const root = find(i);
    let g = byRoot.get(root);
    if (g === undefined) {
      g = { group: groups.length + 1, entries: [], shared: [] };
      byRoot.set(root, g);
      groups.push(g);
    }
    g.entries.push(c.id);
    for (const file of new Set(c.files))
      if ((touches.get(file) ?? 0) > 1 && !g.shared.includes(file)) g.shared.push(file);
  });
  for (const g of groups) g.shared.sort();
  return groups;
}
