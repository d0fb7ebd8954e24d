import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readQueue, recordProgress } from '../refinery/index.js';
import { readSwarm, writeSwarm } from './swarm-record.js';
import { settleSwarm, settleSwarmsOf } from './swarm-status.js';

let town = '';
afterEach(() => rmSync(town, { recursive: true, force: true }));

/** A queue entry for `issue` in rig alpha, as `gt done` submits it. */
function submit(issue: string): void {
  const dir = join(town, 'alpha', 'refinery', 'queue');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${issue}.json`),
    JSON.stringify({
      version: 1,
      rig: 'alpha',
      issue,
      polecat: 'Nux',
      address: 'alpha/Nux',
      branch: `polecat/Nux/${issue}`,
      head: 'a'.repeat(40),
      epoch: 1,
      remote_ref: `origin/polecat/Nux/${issue}`,
      submitted_at: '2026-01-01T00:00:00.000Z',
    }),
  );
}

async function merge(issue: string): Promise<void> {
  const entry = readQueue(town, 'alpha').find((e) => e.id === issue);
  if (entry === undefined) throw new Error(`no entry ${issue}`);
  await recordProgress(town, entry, { state: 'merged', merged_commit: 'b'.repeat(40) });
}

const mayorMail = (): Array<{ id: string; subject: string }> => {
  const file = join(town, 'mayor', 'mail', 'inbox.jsonl');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { id: string; subject: string });
};

describe('swarm completion', () => {
  it('is recorded when the last issue merges, once, however many settlers race', async () => {
    town = mkdtempSync(join(tmpdir(), 'gt-swarm-'));
    mkdirSync(join(town, 'mayor', 'mail'), { recursive: true });
    submit('al-1');
    submit('al-2');
    await writeSwarm(town, {
      version: 1,
      id: 'sw-1',
      rig: 'alpha',
      state: 'active',
      created_at: '2026-01-01T00:00:00.000Z',
      issues: [
        { issue: 'al-1', polecat: 'Nux', address: 'alpha/Nux', epoch: 1 },
        { issue: 'al-2', polecat: 'Toast', address: 'alpha/Toast', epoch: 2 },
        { issue: 'al-3', error: 'al-3 is already claimed by alpha/Slit' },
      ],
    });
    await merge('al-1');
    expect(await settleSwarmsOf(town, 'alpha', 'al-1')).toEqual([]);
    expect((await readSwarm(town, 'sw-1')).state).toBe('active');
    await merge('al-2');
    // The refinery's hook and several patrols settle at once: one completes, one mail.
    const results = await Promise.all([
      settleSwarmsOf(town, 'alpha', 'al-2'),
      ...[1, 2, 3, 4].map(async () =>
        (await settleSwarm(town, 'sw-1')).completed ? ['sw-1'] : [],
      ),
    ]);
    expect(results.flat()).toEqual(['sw-1']);
    expect((await readSwarm(town, 'sw-1')).state).toBe('complete');
    expect(mayorMail().map((m) => [m.id, m.subject])).toEqual([
      ['witness-swarm-complete-sw-1', 'Swarm complete: sw-1'],
    ]);
    expect(await settleSwarm(town, 'sw-1')).toEqual({ completed: false, view: undefined });
  });
});
