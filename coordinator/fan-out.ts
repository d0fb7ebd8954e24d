/**
 * Asking every machine at once: each machine gets its own timeout (which covers dialling and
 * the handshake too), and a machine that is down, hung or refuses us is reported with its reason
 * instead of failing or delaying the answer for the others.
 */
import { setMaxListeners } from 'node:events';
import { GtError, errorMessage } from '../proto/index.js';
import type { MachineRegistry, NodeAgentClient } from './machines.js';

/** Default time one machine gets to answer a fleet-wide question. */
export const DEFAULT_MACHINE_TIMEOUT_MS = 5_000;

export type MachineAnswer<T> =
  | { machine: string; value: T; error?: undefined }
  | { machine: string; value?: undefined; error: GtError };

export interface AskOptions {
  /** Aborts every machine's call (the caller went away). */
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  /**
   * Believe the heartbeat watch (the daemon's liveness): a machine it says is disconnected or
   * lost is answered with that at once, and a call in flight stops waiting when the verdict
   * falls, instead of waiting out `timeoutMs`. For fleet-wide answers (gt status, listings),
   * not for deliveries, which must try.
   */
  heartbeatVerdict?: boolean;
}

export function asGtError(err: unknown): GtError {
  return err instanceof GtError ? err : new GtError('GT_INTERNAL', errorMessage(err));
}

/**
 * Run `call` against one machine within `timeoutMs`: the call's signal aborts at the timeout
 * (so the node agent's handler is cancelled), and the answer never waits longer than that even
 * when the connection itself hangs.
 */
export async function askMachine<T>(
  registry: MachineRegistry,
  machine: string,
  call: (client: NodeAgentClient, signal: AbortSignal) => Promise<T>,
  options: AskOptions,
): Promise<T> {
  const controller = new AbortController();
  const parent = options.signal;
  const onAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted === true) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    const fire = (): void => {
      const err = new GtError(
        'GT_TIMEOUT',
        `machine "${machine}" did not answer within ${options.timeoutMs} ms`,
        { hint: `check it with \`gt machine status ${machine}\`` },
      );
      controller.abort(err);
      reject(err);
    };
    timer = setTimeout(fire, options.timeoutMs);
    controller.signal.addEventListener('abort', () => reject(asGtError(controller.signal.reason)), {
      once: true,
    });
  });
  let off: (() => void) | undefined;
  try {
    if (options.heartbeatVerdict === true) {
      const verdict = registry.silentVerdict(machine);
      if (verdict !== undefined) throw verdict;
      off = registry.onSilent(machine, (err) => controller.abort(err));
    }
    const run = (async () => call((await registry.connect(machine)).client, controller.signal))();
    run.catch(() => undefined); // settled after the race was lost: nobody waits for it
    const value = await Promise.race([run, timedOut]);
    registry.noteAnswer(machine);
    return value;
  } catch (err) {
    const gt = asGtError(err);
    registry.noteFailure(machine, gt);
    throw gt;
  } finally {
    off?.();
    clearTimeout(timer);
    parent?.removeEventListener('abort', onAbort);
    timedOut.catch(() => undefined);
  }
}

/** Ask `machines` in parallel; every machine's answer or error, in the order given. */
export async function askEach<T>(
  registry: MachineRegistry,
  machines: string[],
  call: (client: NodeAgentClient, signal: AbortSignal, machine: string) => Promise<T>,
  options: AskOptions,
): Promise<Array<MachineAnswer<T>>> {
  // One listener on the caller's signal, one per machine on ours (a fleet has more machines than
  // an AbortSignal's default of 10 listeners before Node warns of a leak).
  const parent = options.signal;
  const fan = new AbortController();
  setMaxListeners(machines.length + 10, fan.signal);
  const onAbort = (): void => fan.abort(parent?.reason);
  if (parent?.aborted === true) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.all(
      machines.map(async (machine): Promise<MachineAnswer<T>> => {
        try {
          const value = await askMachine(registry, machine, (c, s) => call(c, s, machine), {
            ...options,
            signal: fan.signal,
          });
          return { machine, value };
        } catch (err) {
          return { machine, error: asGtError(err) };
        }
      }),
    );
  } finally {
    parent?.removeEventListener('abort', onAbort);
  }
}

/** One line per failed machine: `name: reason`. */
export function failureLines(answers: Array<MachineAnswer<unknown>>): string[] {
  return answers.flatMap((a) =>
    a.error === undefined ? [] : [`${a.machine}: ${a.error.message}`],
  );
}
