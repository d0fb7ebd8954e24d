// The Refinery testing disjoint entries together (rig config `merge_batch`): entries whose files
// do not overlap are merged one after another, gated once and pushed once; an entry sharing a
// file waits for a later round; a batch that fails the gate falls back to one entry at a time,
// so only the entry that broke it is rejected.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt } from '../helpers/cli.js';
import { git } from '../helpers/git.js';
import {
  issue,
  mqStatus,
  onOriginMain,
  processQueue,
  setTestCommand,
  submit,
} from './refinery-helpers.js';
import { makeSessionTown, showIssue, type SessionTown } from './sessions-helpers.js';

let t: SessionTown;
let gateLog: string;

function setBatch(n: number): void {
  const file = join(t.town, t.rig, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...config, merge_batch: n }, null, 2));
}

const gateRuns = (): number => {
  try {
    return readFileSync(gateLog, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

beforeAll(async () => {
  t = await makeSessionTown('gt-mqbatch-');
  gateLog = join(t.base, 'gate.log');
  // The gate counts its runs (outside the clone) and fails on any work saying BROKEN.
  setTestCommand(t, `echo run >> ${gateLog}; ! grep -qs BROKEN *.txt`);
  setBatch(3);
});

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

describe('merge batches of disjoint entries', () => {
  it('merges disjoint entries with one gate run; an overlapping one waits for the next round', async () => {
    const a = await issue(t, 'A');
    const b = await issue(t, 'B');
    const c = await issue(t, 'C overlaps B');
    await submit(t, a, { 'a.txt': 'from A\n' });
    await submit(t, b, { 'b.txt': 'from B\n' });
    // Same content as B's b.txt: it merges cleanly, but it touches B's file.
    await submit(t, c, { 'b.txt': 'from B\n', 'c.txt': 'from C\n' });
    const before = gateRuns();
    const processed = await processQueue(t);
    expect(processed.map((p) => [p.id, p.state])).toEqual([
      [a, 'merged'],
      [b, 'merged'],
      [c, 'merged'],
    ]);
    expect(processed[0]?.detail).toContain('(batch of 2)');
    expect(processed[1]?.detail).toContain('(batch of 2)');
    expect(processed[2]?.detail).not.toContain('batch');
    expect(gateRuns() - before).toBe(2);
    // One merge commit per entry, in queue order, each its own commit on main.
    const merges = git(t.repo, 'log', '--merges', '--format=%s', '--reverse', 'main').split('\n');
    expect(merges.slice(-3).map((m) => /\((\S+)\)/.exec(m)?.[1])).toEqual([a, b, c]);
    for (const id of [a, b, c]) expect((await showIssue(t, id)).status).toBe('closed');
    expect(onOriginMain(t, 'c.txt')).toBe('from C');
  });

  it('a batch that fails the gate is retried one at a time: only the breaking entry is rejected', async () => {
    const bad = await issue(t, 'Breaks the gate');
    const good = await issue(t, 'Fine');
    await submit(t, bad, { 'd.txt': 'BROKEN\n' });
    await submit(t, good, { 'e.txt': 'fine\n' });
    const before = gateRuns();
    const processed = await processQueue(t);
    expect(processed.map((p) => [p.id, p.state])).toEqual([
      [bad, 'rejected'],
      [good, 'merged'],
    ]);
    // Batch (failed), then each alone.
    expect(gateRuns() - before).toBe(3);
    expect(onOriginMain(t, 'd.txt')).toBeUndefined();
    expect(onOriginMain(t, 'e.txt')).toBe('fine');
    expect(await showIssue(t, bad)).toMatchObject({ status: 'in_progress' });
    expect((await mqStatus(t, bad)).last_error).toContain('test gate failed');
    const journal = readFileSync(join(t.town, t.rig, 'refinery', 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { entry: string; to: string });
    // Both went merging → queued (the batch) → merging again (alone).
    expect(journal.filter((j) => j.entry === good).map((j) => j.to)).toEqual([
      'merging',
      'queued',
      'merging',
      'merged',
    ]);
  });
});
