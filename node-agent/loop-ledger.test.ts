import { describe, expect, it } from 'vitest';
import { LoopLedger } from './loop-ledger.js';

describe('LoopLedger', () => {
  it('runs one patrol of a rig at a time, other rigs and loops side by side', async () => {
    const ledger = new LoopLedger({ own: true, machine: 'w' });
    const events: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = ledger.exclusive('app', 'witness', async () => {
      events.push('first start');
      await held;
      events.push('first end');
    });
    const second = ledger.exclusive('app', 'witness', async () => {
      events.push('second');
      return 2;
    });
    const otherRig = ledger.exclusive('lib', 'witness', async () => events.push('lib'));
    const otherLoop = ledger.exclusive('app', 'refinery', async () => events.push('refinery'));
    await Promise.all([otherRig, otherLoop]);
    expect(events).toEqual(['first start', 'lib', 'refinery']);
    release();
    expect(await second).toBe(2);
    await first;
    expect(events).toEqual(['first start', 'lib', 'refinery', 'first end', 'second']);
  });

  it('a failed run does not block the next one, and runs are counted per rig and loop', async () => {
    const ledger = new LoopLedger({ own: false, machine: 'local' });
    await expect(
      ledger.exclusive('app', 'refinery', () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    expect(await ledger.exclusive('app', 'refinery', async () => 'next')).toBe('next');
    ledger.ran('app', 'witness', 300);
    ledger.ran('app', 'witness', 300, 'tmux did not answer');
    ledger.asked('app', 'witness');
    ledger.declined('app', 'refinery');
    ledger.asked('gone', 'witness');
    ledger.keepOnly(new Set(['app']));
    expect(ledger.statuses()).toEqual([
      expect.objectContaining({ rig: 'app', loop: 'refinery', runs: 0n, declined: 1n }),
      expect.objectContaining({
        rig: 'app',
        loop: 'witness',
        intervalMs: 300,
        runs: 2n,
        asked: 1n,
        lastError: 'tmux did not answer',
      }),
    ]);
  });
});
