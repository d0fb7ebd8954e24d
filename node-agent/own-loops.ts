/**
 * A worker machine's own loops, run inside its node agent service (gt-node-agent): the Witness
 * patrol of every rig this machine homes or carries as a satellite (the polecats running here:
 * local tmux, local clones) on the rig's `witness.patrol_interval_ms`, and the Refinery of every
 * rig it homes on the rig's `merge_interval_ms`. They need nothing from the coordinator, so the
 * machine keeps patrolling and merging while the coordinator is away; what they say to the Mayor
 * or to agents elsewhere leaves through the machine's outbox (mayor-forward.ts, mail/away.ts).
 * Each (rig, loop) has at most one run in flight and a rig that hangs holds up no other.
 * `stop()` aborts the runs in flight and resolves when they have ended. Idempotent.
 */
import { errorMessage, GtError } from '../proto/index.js';
import type { LoopKind, LoopLedger } from './loop-ledger.js';
import type { Log } from './log.js';
import { processQueue } from './refinery-service.js';
import { readRigsRegistry, rigPaths, tryReadRigConfig } from './town/index.js';
import { patrolOnce } from './witness-service.js';

/** The Refinery's interval when the rig's config names none (the daemon's default too). */
export const DEFAULT_MERGE_INTERVAL_MS = 10_000;

export interface OwnLoopsOptions {
  townRoot: string;
  ledger: LoopLedger;
  log: Log;
  /** How often the loops look for rigs due a run (default 1 s). */
  tickMs?: number;
}

export interface OwnLoops {
  stop(): Promise<void>;
}

export function startOwnLoops(o: OwnLoopsOptions): OwnLoops {
  const log = o.log.child({ component: 'loops' });
  const abort = new AbortController();
  const due = new Map<string, number>();
  const inFlight = new Map<string, Promise<void>>();
  let ticking: Promise<void> | undefined;
  let unreadable = false;
  let stopped: Promise<void> | undefined;

  const run = async (rig: string, loop: LoopKind): Promise<void> => {
    const key = `${loop}\0${rig}`;
    let intervalMs = DEFAULT_MERGE_INTERVAL_MS;
    try {
      intervalMs = loop === 'witness' ? await witness(rig) : await refinery(rig);
      o.ledger.ran(rig, loop, intervalMs);
    } catch (err) {
      if (abort.signal.aborted) return;
      // GT_CONFLICT: another process holds the rig's refinery lock; it is being served.
      const busy = err instanceof GtError && err.code === 'GT_CONFLICT';
      o.ledger.ran(rig, loop, intervalMs, busy ? '' : errorMessage(err));
      if (!busy) log.warn({ rig, loop, err: errorMessage(err) }, `${loop} run failed`);
    } finally {
      due.set(key, Date.now() + intervalMs);
    }
  };

  const witness = async (rig: string): Promise<number> => {
    const r = await o.ledger.exclusive(rig, 'witness', () =>
      patrolOnce(o.townRoot, rig, abort.signal),
    );
    if (r.actions.length > 0)
      log.info(
        { rig, actions: r.actions.map((a) => `${a.address} ${a.kind}`), cpuMs: r.cpuMs },
        'witness patrol',
      );
    return r.intervalMs;
  };

  const refinery = async (rig: string): Promise<number> => {
    const config = await tryReadRigConfig(rigPaths(o.townRoot, rig).configJson);
    const intervalMs = config?.merge_interval_ms ?? DEFAULT_MERGE_INTERVAL_MS;
    const processed = await o.ledger.exclusive(rig, 'refinery', () =>
      processQueue(o.townRoot, rig, false, abort.signal),
    );
    for (const p of processed)
      log.info(
        { rig, entry: p.id, state: p.state, commit: p.commit, detail: p.detail },
        'merge queue entry processed',
      );
    return intervalMs;
  };

  const tick = async (): Promise<void> => {
    let rigs: Array<{ rig: string; homed: boolean }>;
    try {
      const registry = await readRigsRegistry(o.townRoot);
      rigs = Object.entries(registry.rigs).map(([rig, e]) => ({
        rig,
        homed: e.home_machine === undefined,
      }));
      unreadable = false;
    } catch (err) {
      // Not installed yet (provisioning installs the town next), or a broken rigs.json: doctor's.
      if (!unreadable) log.warn({ err: errorMessage(err) }, 'loops: cannot list rigs');
      unreadable = true;
      return;
    }
    o.ledger.keepOnly(new Set(rigs.map((r) => r.rig)));
    for (const { rig, homed } of rigs)
      for (const loop of homed ? (['witness', 'refinery'] as const) : (['witness'] as const)) {
        const key = `${loop}\0${rig}`;
        if (abort.signal.aborted) return;
        if (inFlight.has(key) || Date.now() < (due.get(key) ?? 0)) continue;
        inFlight.set(
          key,
          run(rig, loop).finally(() => inFlight.delete(key)),
        );
      }
  };

  const timer = setInterval(() => {
    ticking ??= tick().finally(() => (ticking = undefined));
  }, o.tickMs ?? 1_000);
  timer.unref();
  return {
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        abort.abort();
        await ticking;
        await Promise.all(inFlight.values());
      })()),
  };
}
