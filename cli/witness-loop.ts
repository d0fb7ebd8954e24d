/**
 * The Witness patrol loop of the town daemon (`gt up`): every rig is patrolled on its own
 * interval (rig config witness.patrol_interval_ms, reported back by each patrol). Rigs are
 * isolated: each has at most one patrol in flight, and a rig whose machine hangs or is down
 * never holds up the others. `stop()` aborts the patrols in flight and resolves when they have
 * ended. Idempotent start/stop.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../proto/index.js';
import type { CoordinatorClient } from './session.js';

export interface WitnessLoopOptions {
  client: CoordinatorClient;
  log: Logger;
  /** How often the loop looks for due rigs. */
  tickMs?: number;
  /** Interval before a rig's first patrol reports its own. */
  defaultIntervalMs?: number;
}

export class WitnessLoop {
  readonly #o: WitnessLoopOptions;
  readonly #due = new Map<string, number>();
  /** The patrol in flight per rig. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #abort = new AbortController();
  #stopped = false;

  constructor(options: WitnessLoopOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => {
      this.#running ??= this.#tick().finally(() => (this.#running = undefined));
    }, this.#o.tickMs ?? 1_000);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#running;
    await Promise.all(this.#inFlight.values());
  }

  async #tick(): Promise<void> {
    let rigs: string[];
    try {
      // A machine that cannot answer is left out of the listing; the others are patrolled.
      rigs = (await this.#o.client.listRigs({}, { signal: this.#abort.signal })).rigs.map(
        (r) => r.name,
      );
    } catch (err) {
      if (!this.#stopped) this.#o.log.warn({ err: errorMessage(err) }, 'witness: cannot list rigs');
      return;
    }
    for (const rig of rigs) {
      if (this.#stopped) return;
      if (this.#inFlight.has(rig) || Date.now() < (this.#due.get(rig) ?? 0)) continue;
      this.#inFlight.set(
        rig,
        this.#patrol(rig).finally(() => this.#inFlight.delete(rig)),
      );
    }
  }

  async #patrol(rig: string): Promise<void> {
    const fallback = this.#o.defaultIntervalMs ?? 30_000;
    try {
      // `loop`: a machine whose node agent runs its own Witness loop declines (docs/decisions.md
      // "Loops in the node agent"), so no polecat is patrolled by two loops.
      const r = await this.#o.client.witnessPatrol(
        { rig, loop: true },
        { signal: this.#abort.signal },
      );
      this.#due.set(rig, Date.now() + (r.intervalMs > 0 ? r.intervalMs : fallback));
      if (r.actions.length > 0)
        this.#o.log.info(
          { rig, actions: r.actions.map((a) => `${a.address} ${a.kind}`), cpuMs: r.cpuMs },
          'witness patrol',
        );
      if (r.ownLoops.length > 0)
        this.#o.log.debug({ rig, machines: r.ownLoops }, 'witness patrol left to their own loops');
    } catch (err) {
      this.#due.set(rig, Date.now() + fallback);
      if (!this.#stopped)
        this.#o.log.warn({ rig, err: errorMessage(err) }, 'witness patrol failed');
    }
  }
}
