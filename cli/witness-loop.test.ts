import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CoordinatorClient } from './session.js';
import { WitnessLoop } from './witness-loop.js';

/** A coordinator that knows two rigs and records each patrol (our own small fake). */
function fakeCoordinator(
  intervals: Record<string, number>,
  failing = new Set<string>(),
  hung = new Set<string>(),
) {
  const patrols: string[] = [];
  const client = {
    listRigs: async () => ({ rigs: Object.keys(intervals).map((name) => ({ name })) }),
    witnessPatrol: async ({ rig }: { rig: string }, options?: { signal?: AbortSignal }) => {
      patrols.push(rig);
      if (failing.has(rig)) throw new Error(`rig ${rig} is broken`);
      // A rig whose machine hangs: the patrol answers only when cancelled.
      if (hung.has(rig))
        await new Promise((_, reject) =>
          options?.signal?.addEventListener('abort', () => reject(new Error('cancelled'))),
        );
      return { rig, actions: [], intervalMs: intervals[rig] ?? 0, cpuMs: 0, ownLoops: [] };
    },
  } as unknown as CoordinatorClient;
  return { client, patrols };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = pino({ level: 'silent' });

describe('WitnessLoop', () => {
  it('patrols each rig on its own interval, and a broken rig does not stop the others', async () => {
    const { client, patrols } = fakeCoordinator(
      { fast: 40, slow: 10_000, broken: 40 },
      new Set(['broken']),
    );
    const loop = new WitnessLoop({ client, log, tickMs: 10, defaultIntervalMs: 10_000 });
    loop.start();
    loop.start(); // idempotent
    await sleep(300);
    await loop.stop();
    const count = (rig: string) => patrols.filter((p) => p === rig).length;
    expect(count('fast')).toBeGreaterThanOrEqual(3);
    expect(count('slow')).toBe(1);
    expect(count('broken')).toBe(1); // failed: waits the default interval
  });

  it('a rig whose machine hangs holds up no other rig; stop() cancels its patrol', async () => {
    const { client, patrols } = fakeCoordinator(
      { hung: 10, fine: 10 },
      new Set(),
      new Set(['hung']),
    );
    const loop = new WitnessLoop({ client, log, tickMs: 10 });
    loop.start();
    await sleep(300);
    await loop.stop();
    expect(patrols.filter((p) => p === 'hung')).toHaveLength(1);
    expect(patrols.filter((p) => p === 'fine').length).toBeGreaterThanOrEqual(3);
  });

  it('stop() ends the loop: no patrol after it resolves; stopping twice is fine', async () => {
    const { client, patrols } = fakeCoordinator({ a: 1 });
    const loop = new WitnessLoop({ client, log, tickMs: 5 });
    loop.start();
    await sleep(50);
    await loop.stop();
    await loop.stop();
    const seen = patrols.length;
    await sleep(50);
    expect(patrols.length).toBe(seen);
    loop.start(); // a stopped loop stays stopped
    await sleep(30);
    expect(patrols.length).toBe(seen);
  });
});
