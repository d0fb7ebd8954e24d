import { describe, expect, it } from 'vitest';
import { mergeIssues } from './merge.js';
import type { BeadIssue } from './types.js';

const base: BeadIssue = {
  id: 'm-1',
  title: 'base',
  status: 'open',
  priority: 2,
  issue_type: 'task',
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
};
const at = (day: number) => `2025-01-0${day}T00:00:00Z`;
const merged = (b: BeadIssue[], o: BeadIssue[], t: BeadIssue[], now = Date.parse(at(9))) =>
  mergeIssues(b, o, t, now).issues;

describe('three-way merge of issues.jsonl', () => {
  it('takes the only side that changed', () => {
    const ours = { ...base, title: 'ours', updated_at: at(2) };
    expect(merged([base], [ours], [base])).toEqual([ours]);
    expect(merged([base], [base], [ours])).toEqual([ours]);
  });

  it('merges different fields; the later updated_at wins a real conflict', () => {
    const ours = { ...base, title: 'ours', priority: 0, updated_at: at(2) };
    const theirs = { ...base, title: 'theirs', assignee: 'bob', updated_at: at(3) };
    expect(merged([base], [ours], [theirs])[0]).toMatchObject({
      title: 'theirs',
      priority: 0,
      assignee: 'bob',
      updated_at: at(3),
    });
  });

  it('closed beats open; notes concatenate', () => {
    const ours = {
      ...base,
      status: 'closed',
      closed_at: at(2),
      close_reason: 'done',
      notes: 'a',
      updated_at: at(2),
    };
    const theirs = { ...base, status: 'in_progress', notes: 'b', updated_at: at(3) };
    const [m] = merged([base], [ours], [theirs]);
    expect(m).toMatchObject({ status: 'closed', closed_at: at(2), close_reason: 'done' });
    expect(m?.notes).toBe('a\n\nb');
  });

  it('a live tombstone wins over an edit; an expired one does not', () => {
    const dead = {
      ...base,
      status: 'tombstone',
      deleted_at: at(2),
      deleted_by: 'a',
      updated_at: at(2),
    };
    const edited = { ...base, title: 'edited', updated_at: at(3) };
    expect(merged([base], [dead], [edited])[0]?.status).toBe('tombstone');
    expect(merged([base], [edited], [dead])[0]?.status).toBe('tombstone');
    const later = Date.parse('2025-03-01T00:00:00Z');
    expect(merged([base], [dead], [edited], later)[0]?.title).toBe('edited');
  });

  it('dependency and label removals win; additions from both sides are kept', () => {
    const dep = (on: string) => ({ issue_id: 'm-1', depends_on_id: on, type: 'blocks' });
    const b = { ...base, labels: ['x', 'y'], dependencies: [dep('a'), dep('b')] };
    const ours = {
      ...b,
      labels: ['y', 'z'],
      dependencies: [dep('b'), dep('c')],
      updated_at: at(2),
    };
    const theirs = {
      ...b,
      labels: ['w', 'x', 'y'],
      dependencies: [dep('a'), dep('b'), dep('d')],
      updated_at: at(3),
    };
    const [m] = merged([b], [ours], [theirs]);
    expect(m?.labels).toEqual(['w', 'y', 'z']);
    expect(m?.dependencies?.map((d) => d.depends_on_id)).toEqual(['b', 'c', 'd']);
  });

  it('keeps issues added on either side and unknown fields', () => {
    const a = { ...base, id: 'm-a', custom: { deep: [1] } };
    const b = { ...base, id: 'm-b' };
    expect(merged([], [a], [b]).map((i) => i.id)).toEqual(['m-a', 'm-b']);
    expect(merged([], [a], [b])[0]).toHaveProperty('custom', { deep: [1] });
  });

  it('an issue gone on one side stays gone unless the other side edited it', () => {
    const edited = { ...base, title: 'edited', updated_at: at(2) };
    expect(merged([base], [], [base])).toEqual([]);
    expect(merged([base], [], [edited])).toEqual([edited]);
  });
});
