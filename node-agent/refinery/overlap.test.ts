import { describe, expect, it } from 'vitest';
import { overlapGroups } from './overlap.js';

describe('overlapGroups', () => {
  it('puts disjoint changesets in separate groups and chains overlapping ones', () => {
    const groups = overlapGroups([
      { id: 'a', files: ['src/x.ts'] },
      { id: 'b', files: ['src/y.ts'] },
      { id: 'c', files: ['src/x.ts', 'src/z.ts'] },
      { id: 'd', files: ['src/z.ts'] },
    ]);
    expect(groups).toEqual([
      { group: 1, entries: ['a', 'c', 'd'], shared: ['src/x.ts', 'src/z.ts'] },
      { group: 2, entries: ['b'], shared: [] },
    ]);
  });

  it('joins two chains when a later changeset bridges them', () => {
    const groups = overlapGroups([
      { id: 'a', files: ['1'] },
      { id: 'b', files: ['2'] },
      { id: 'c', files: ['2', '1'] },
    ]);
    expect(groups.map((g) => g.entries)).toEqual([['a', 'b', 'c']]);
  });

  it('handles an empty queue and empty changesets', () => {
    expect(overlapGroups([])).toEqual([]);
    expect(
      overlapGroups([
        { id: 'a', files: [] },
        { id: 'b', files: [] },
      ]).length,
    ).toBe(2);
  });
});
