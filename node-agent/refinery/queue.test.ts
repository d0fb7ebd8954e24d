import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isInterrupted, journalPath, readQueue, recordProgress } from './queue.js';

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
});
