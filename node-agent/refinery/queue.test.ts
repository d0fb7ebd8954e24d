import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  entryState,
  invalidEntries,
  isInterrupted,
  journalPath,
  readQueue,
  recordProgress,
} from './queue.js';

let town = '';
afterEach(() => rmSync(town, { recursive: true, force: true }));

function queueDir(): string {
  const dir = join(town, 'alpha', 'refinery', 'queue');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function submitRecord(issue: string, submittedAt: string): void {
  const record = {
    version: 1,
    rig: 'alpha',
    issue,
    polecat: 'Nux',
    address: 'alpha/Nux',
    branch: `polecat/Nux/${issue}`,
    head: 'a'.repeat(40),
    epoch: 1,
    remote_ref: `origin/polecat/Nux/${issue}`,
    submitted_at: submittedAt,
  };
  writeFileSync(join(queueDir(), `${issue}.json`), JSON.stringify(record));
}

describe('MergeQueue on disk', () => {
  it('orders by submission when no beads priority is known, ignores state files', () => {
    town = mkdtempSync(join(tmpdir(), 'gt-q-'));
    submitRecord('al-2', '2026-01-01T00:00:02.000Z');
    submitRecord('al-1', '2026-01-01T00:00:01.000Z');
    expect(readQueue(town, 'alpha').map((e) => [e.id, e.state, e.priority])).toEqual([
      ['al-1', 'queued', 2],
      ['al-2', 'queued', 2],
    ]);
  });

  it('keeps progress per submission: a new `gt done` re-queues, and state changes are journalled', async () => {
    town = mkdtempSync(join(tmpdir(), 'gt-q-'));
    submitRecord('al-1', '2026-01-01T00:00:01.000Z');
    const [entry] = readQueue(town, 'alpha');
    if (entry === undefined) throw new Error('no entry');
    await recordProgress(town, entry, { state: 'conflict', conflict_files: ['x.txt'] });
    expect(readQueue(town, 'alpha')[0]).toMatchObject({
      state: 'conflict',
      conflict_files: ['x.txt'],
    });
    submitRecord('al-1', '2026-01-01T00:05:00.000Z');
    expect(readQueue(town, 'alpha')[0]).toMatchObject({ state: 'queued', conflict_files: [] });
    const journal = readFileSync(journalPath(town, 'alpha'), 'utf8').trim().split('\n');
    expect(journal.map((l) => (JSON.parse(l) as { to: string }).to)).toEqual(['conflict']);
  });

  it('an entry merging under a dead pid is interrupted; under this live process it is not', async () => {
    town = mkdtempSync(join(tmpdir(), 'gt-q-'));
    submitRecord('al-1', '2026-01-01T00:00:01.000Z');
    const [entry] = readQueue(town, 'alpha');
    if (entry === undefined) throw new Error('no entry');
    const live = await recordProgress(town, entry, { state: 'merging', pid: process.pid });
    expect(isInterrupted(live)).toBe(false);
    const dead = await recordProgress(town, live, { pid: 2 ** 22 + 12345 });
    expect(isInterrupted(readQueue(town, 'alpha')[0] ?? dead)).toBe(true);
  });

  it('a truncated or ill-typed file is an invalid entry naming the file and field, never skipped', async () => {
    town = mkdtempSync(join(tmpdir(), 'gt-q-'));
    submitRecord('al-1', '2026-01-01T00:00:01.000Z');
    submitRecord('al-2', '2026-01-01T00:00:02.000Z');
    submitRecord('al-3', '2026-01-01T00:00:03.000Z');
    const dir = queueDir();
    const truncated = join(dir, 'al-1.json');
    writeFileSync(truncated, readFileSync(truncated, 'utf8').slice(0, 40));
    const badField = join(dir, 'al-2.json');
    writeFileSync(
      badField,
      JSON.stringify({ ...(JSON.parse(readFileSync(badField, 'utf8')) as object), epoch: 'x' }),
    );
    writeFileSync(join(dir, 'al-3.state.json'), '{"version": 1, "state": "mer');
    const entries = readQueue(town, 'alpha');
    expect(entries.map((e) => [e.id, e.state])).toEqual([
      ['al-1', 'invalid'],
      ['al-2', 'invalid'],
      ['al-3', 'invalid'],
    ]);
    expect(entries[0]?.last_error).toMatch(new RegExp(`^${truncated}: \\(root\\): not valid JSON`));
    expect(entries[1]?.last_error).toMatch(new RegExp(`^${badField}: epoch: `));
    expect(entries[2]?.last_error).toContain(join(dir, 'al-3.state.json'));
    // The good part of al-3 is still shown (branch, polecat) beside its problem.
    expect(entries[2]).toMatchObject({ address: 'alpha/Nux', branch: 'polecat/Nux/al-3' });
    expect(entryState(town, 'alpha', 'al-1')).toBe('invalid');
    expect(invalidEntries(town, 'alpha').map((e) => e.id)).toEqual(['al-1', 'al-2', 'al-3']);
    // Nothing changes an invalid entry: the problem is named, with what to do.
    await expect(
      recordProgress(town, entries[1] ?? entries[0]!, { state: 'queued' }),
    ).rejects.toThrow(/merge queue entry alpha\/al-2 is invalid: .*epoch/);
  });
});
