/**
 * The Refinery loop under `gt up`: every interval, process each rig's merge queue through the
 * daemon's own coordinator (the same RPC `gt refinery process` calls, so routing to the rig's
 * machine is the same). The rigs of a pass run side by side, each isolated; one pass at a time; `stop()` cancels a running pass (a cancelled merge is
 * left queued and redone from scratch) and waits for it. Idempotent.
 */
import type { Logger } from 'pino';
import { GtError } from '../proto/index.js';
import type { CoordinatorClient } from './session.js';

export interface RefineryLoopOptions {
  client: CoordinatorClient;
  intervalMs: number;
  log: Logger;
}

export interface RefineryLoop {
  /** Run one pass now (tests; also what the timer calls). */
  pass(): Promise<void>;
  stop(): Promise<void>;
}

export function startRefineryLoop(options: RefineryLoopOptions): RefineryLoop {
  const log = options.log.child({ component: 'refinery' });
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  /** One rig's queue; rigs run side by side, so a rig whose machine hangs holds up no other. */
  const processRig = async (rig: string): Promise<void> => {
    try {
      // `loop`: a home whose node agent runs its own Refinery loop declines (own_loop).
      const r = await options.client.processMergeQueue(
        { rig, once: false, loop: true },
        { signal: abort.signal },
      );
      if (r.ownLoop) log.debug({ rig }, "merge queue left to its home's own loop");
      for (const p of r.processed)
        if (p.state === 'invalid')
          log.warn({ rig, entry: p.id, detail: p.detail }, 'merge queue entry invalid');
        else
          log.info(
            { rig, entry: p.id, state: p.state, commit: p.commit },
            'merge queue entry processed',
          );
    } catch (err) {
      // GT_CONFLICT: another refinery (`gt refinery process` by hand) holds the rig; it is served.
      if (err instanceof GtError && (err.code === 'GT_CONFLICT' || err.code === 'GT_CANCELLED'))
        return;
      log.warn({ rig, err }, 'refinery pass failed');
    }
  };
  const passOnce = async (): Promise<void> => {
    // A machine that cannot answer is left out of the listing; the others' rigs are served.
    const rigs = (await options.client.listRigs({}, { signal: abort.signal })).rigs;
    await Promise.all(rigs.filter(() => !abort.signal.aborted).map((r) => processRig(r.name)));
  };
  const pass = (): Promise<void> => {
    running ??= passOnce()
      .catch((err: unknown) => log.warn({ err }, 'refinery pass failed'))
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void pass(), options.intervalMs);
  timer.unref();
  return {
    pass,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        abort.abort();
        await running;
      })()),
  };
}
