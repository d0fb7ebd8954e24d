import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('grows exponentially up to the cap, with jitter inside [ceiling/10, ceiling]', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    const high = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    const lows = Array.from({ length: 6 }, () => low.next());
    const highs = Array.from({ length: 6 }, () => high.next());
    expect(lows).toEqual([10, 20, 40, 80, 100, 100]);
    expect(highs).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('waits the long delay after a failure a retry cannot fix, and restarts after reset', () => {
    const b = new Backoff({ initialMs: 100, permanentMs: 300_000, random: () => 0.5 });
    expect(b.next(true)).toBe(300_000);
    expect(b.attempts).toBe(1);
    b.reset();
    expect(b.next()).toBe(55);
  });
});
