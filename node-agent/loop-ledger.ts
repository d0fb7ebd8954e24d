/**
 * The record of a machine's Witness and Refinery loops, shared by the node agent's own loops
 * (own-loops.ts) and its WitnessPatrol / ProcessMergeQueue RPCs. It says whether this node agent
 * runs its own loops (then a loop's request from the coordinator is declined, so no rig here is
 * patrolled or merged by two loops), keeps one patrol of a rig at a time in this process (an
 * Overseer's `gt witness patrol` waits for the loop's patrol in flight instead of racing it), and
 * counts runs per rig for `gt machine status` (the Report rpc).
 */
import type { LoopStatusSchema, MessageInitShape } from '../proto/index.js';

export type LoopKind = 'witness' | 'refinery';

interface Entry {
  rig: string;
  loop: LoopKind;
  intervalMs: number;
  lastAt: string;
  lastError: string;
  runs: number;
  asked: number;
  declined: number;
}

export class LoopLedger {
  /** This node agent runs its own loops (the standalone service on a worker machine). */
  readonly own: boolean;
  /** The machine's name, as declined loop requests report it. */
  readonly machine: string;
  readonly #entries = new Map<string, Entry>();
  readonly #held = new Map<string, Promise<unknown>>();

  constructor(options: { own: boolean; machine: string }) {
    this.own = options.own;
    this.machine = options.machine;
  }

  #entry(rig: string, loop: LoopKind): Entry {
    const key = `${loop}\0${rig}`;
    let e = this.#entries.get(key);
    if (e === undefined) {
      e = { rig, loop, intervalMs: 0, lastAt: '', lastError: '', runs: 0, asked: 0, declined: 0 };
      this.#entries.set(key, e);
    }
    return e;
  }

  /** Run `fn` once no other run of `loop` on `rig` is in flight in this process. */
  async exclusive<T>(rig: string, loop: LoopKind, fn: () => Promise<T>): Promise<T> {
    const key = `${loop}\0${rig}`;
    const before = this.#held.get(key) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.#held.set(key, tail);
    void tail.then(() => {
      if (this.#held.get(key) === tail) this.#held.delete(key);
    });
    return run;
  }

  /** A run of the own loop ended (`error` when it failed). */
  ran(rig: string, loop: LoopKind, intervalMs: number, error = ''): void {
    const e = this.#entry(rig, loop);
    e.runs += 1;
    e.intervalMs = intervalMs;
    e.lastAt = new Date().toISOString();
    e.lastError = error;
  }

  /** A run asked by RPC (a patrol or pass by hand, a coordinator without own-loop machines). */
  asked(rig: string, loop: LoopKind): void {
    this.#entry(rig, loop).asked += 1;
  }

  /** A loop's request declined: the own loop serves the rig. */
  declined(rig: string, loop: LoopKind): void {
    this.#entry(rig, loop).declined += 1;
  }

  /** Forget a rig no longer here (removed, or its satellite gone). */
  keepOnly(rigs: ReadonlySet<string>): void {
    for (const [key, e] of this.#entries) if (!rigs.has(e.rig)) this.#entries.delete(key);
  }

  statuses(): Array<MessageInitShape<typeof LoopStatusSchema>> {
    return [...this.#entries.values()]
      .sort((a, b) => a.rig.localeCompare(b.rig) || a.loop.localeCompare(b.loop))
      .map((e) => ({
        rig: e.rig,
        loop: e.loop,
        intervalMs: e.intervalMs,
        lastAt: e.lastAt,
        runs: BigInt(e.runs),
        lastError: e.lastError,
        asked: BigInt(e.asked),
        declined: BigInt(e.declined),
      }));
  }
}
