/**
 * Liveness (DESIGN.md §6; Nomad's client heartbeat and the kubelet's node lease are the model):
 * the coordinator keeps one Attach stream open to every machine and asks for a heartbeat every
 * `intervalMs`. Each heartbeat marks the machine connected (and when it was last heard). No
 * heartbeat for the TTL (two intervals) plus a grace → disconnected: its sessions keep running,
 * nothing is reassigned, mail for it waits in the outbox. Still nothing after `lostAfterMs` →
 * lost, and the Mayor gets one escalation naming the polecats and issues last seen there. A
 * heartbeat again → connected (a rejoin); the stream is re-opened with backoff and jitter.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FrameQueue,
  GT_VERSION,
  GtError,
  PROTOCOL_VERSION,
  errorMessage,
  type CoordinatorFrameSchema,
  type MessageInitShape,
  type RelayRequest,
} from '../proto/index.js';
import { Backoff } from './ssh/backoff.js';
import type { MachineRegistry } from './machines.js';

/** Defaults, with their reasons, in docs/decisions.md ("Liveness"). */
export const LIVENESS_DEFAULTS = {
  intervalMs: 5_000,
  graceMs: 5_000,
  lostAfterMs: 10 * 60_000,
} as const;

/**
 * The daemon's settings from config/town.json's `fleet`: the grace is one interval (so the
 * defaults' 5 s + 5 s, and always 3 intervals of silence before disconnected).
 */
export function livenessSettings(
  fleet: { heartbeat_interval_ms?: number; lost_after_ms?: number } | undefined,
): { intervalMs: number; graceMs: number; lostAfterMs: number } {
  const intervalMs = fleet?.heartbeat_interval_ms ?? LIVENESS_DEFAULTS.intervalMs;
  return {
    intervalMs,
    graceMs: intervalMs,
    lostAfterMs: fleet?.lost_after_ms ?? LIVENESS_DEFAULTS.lostAfterMs,
  };
}

export interface LivenessOptions {
  registry: MachineRegistry;
  /** The machines to watch (asked again on every check: machines come and go). */
  machines: () => string[];
  intervalMs?: number;
  graceMs?: number;
  lostAfterMs?: number;
  /** Called once when a machine turns lost (again only after it rejoined and was lost anew). */
  onLost?: (machine: string, silentSince: string) => Promise<void>;
  /** Called when a lost or disconnected machine is heard again. */
  onRejoin?: (machine: string) => void;
  /** Called on a machine's first heartbeat and on every rejoin (to take its listing again). */
  onConnected?: (machine: string) => void;
  /**
   * Answer a call relayed up `machine`'s stream (a gt/bd run in a session there); without it
   * relayed calls are refused.
   */
  relay?: (
    machine: string,
    request: RelayRequest,
    signal: AbortSignal,
  ) => Promise<MessageInitShape<typeof import('../proto/index.js').RelayResponseSchema>>;
  now?: () => number;
}

type OutFrame = MessageInitShape<typeof CoordinatorFrameSchema>;

export interface MachineLiveness {
  state: 'connected' | 'disconnected' | 'lost' | 'unknown';
  /** ISO time of the last heartbeat; '' when none yet. */
  lastHeartbeatAt: string;
  /** Sessions the machine reported in its last heartbeat. */
  sessions: number;
}

interface Seen {
  at: number;
  sessions: number;
  state: MachineLiveness['state'];
}

export class Liveness {
  readonly #o: Required<Omit<LivenessOptions, 'onLost' | 'onRejoin' | 'onConnected' | 'relay'>> &
    Pick<LivenessOptions, 'onLost' | 'onRejoin' | 'onConnected' | 'relay'>;
  readonly #seen = new Map<string, Seen>();
  readonly #streams = new Map<string, Promise<void>>();
  readonly #stop = new AbortController();
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LivenessOptions) {
    this.#o = {
      intervalMs: LIVENESS_DEFAULTS.intervalMs,
      graceMs: LIVENESS_DEFAULTS.graceMs,
      lostAfterMs: LIVENESS_DEFAULTS.lostAfterMs,
      now: Date.now,
      ...options,
    };
    this.#startedAt = this.#o.now();
  }

  /** TTL + grace: how long a machine may be silent before it is disconnected. */
  get silenceMs(): number {
    return 2 * this.#o.intervalMs + this.#o.graceMs;
  }

  start(): void {
    this.#check();
    this.#timer = setInterval(() => this.#check(), Math.max(this.#o.intervalMs / 2, 50));
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#stop.abort();
    await Promise.all(this.#streams.values());
  }

  /** Silence after which a machine is lost. */
  get lostAfterMs(): number {
    return this.#o.lostAfterMs;
  }

  /** ISO time since which `machine` is silent: its last heartbeat, or the watch's start. */
  silentSince(machine: string): string {
    return new Date(this.#seen.get(machine)?.at ?? this.#startedAt).toISOString();
  }

  /** How long until `machine` is lost if it stays silent from now (0 when it is lost). */
  untilLostMs(machine: string): number {
    const at = this.#seen.get(machine)?.at ?? this.#startedAt;
    return Math.max(0, this.#o.lostAfterMs - (this.#o.now() - at));
  }

  view(machine: string): MachineLiveness {
    const seen = this.#seen.get(machine);
    return {
      state: seen?.state ?? 'unknown',
      lastHeartbeatAt: seen === undefined ? '' : new Date(seen.at).toISOString(),
      sessions: seen?.sessions ?? 0,
    };
  }

  #check(): void {
    const now = this.#o.now();
    for (const machine of this.#o.machines()) {
      if (!this.#streams.has(machine))
        this.#streams.set(
          machine,
          this.#attachLoop(machine).finally(() => this.#streams.delete(machine)),
        );
      const seen = this.#seen.get(machine) ?? {
        at: this.#startedAt,
        sessions: 0,
        state: 'unknown' as const,
      };
      const silent = now - seen.at;
      if (silent > this.#o.lostAfterMs && seen.state !== 'lost') {
        this.#seen.set(machine, { ...seen, state: 'lost' });
        this.#o.registry.noteFailure(
          machine,
          new GtError(
            'GT_MACHINE_LOST',
            `lost: no heartbeat for ${Math.round(silent / 1000)} s, since ${new Date(seen.at).toISOString()} (lost after ${Math.round(this.#o.lostAfterMs / 1000)} s)`,
          ),
        );
        void this.#o.onLost?.(machine, new Date(seen.at).toISOString()).catch(() => undefined);
      } else if (
        silent > this.silenceMs &&
        seen.state !== 'lost' &&
        seen.state !== 'disconnected'
      ) {
        this.#seen.set(machine, { ...seen, state: 'disconnected' });
        const lostIn = Math.max(0, Math.round((this.#o.lostAfterMs - silent) / 1000));
        this.#o.registry.noteFailure(
          machine,
          new GtError(
            'GT_MACHINE_DISCONNECTED',
            `disconnected: no heartbeat for ${Math.round(silent / 1000)} s, since ${new Date(seen.at).toISOString()} (one expected every ${this.#o.intervalMs / 1000} s); lost in ${lostIn} s unless it returns`,
          ),
        );
      }
    }
  }

  /** Keep an Attach stream open to `machine`, re-opened with backoff while watching. */
  async #attachLoop(machine: string): Promise<void> {
    const signal = this.#stop.signal;
    const backoff = new Backoff({ initialMs: Math.max(this.#o.intervalMs / 2, 50), maxMs: 30_000 });
    while (!signal.aborted && this.#o.machines().includes(machine)) {
      try {
        const { client } = await this.#o.registry.connect(machine);
        // Outgoing frames are a queue: the hello, then answers to relayed calls as they finish.
        const out = new FrameQueue<OutFrame>();
        out.push({
          frame: {
            case: 'hello',
            value: {
              coordinatorVersion: GT_VERSION,
              protocolVersion: PROTOCOL_VERSION,
              heartbeatIntervalMs: this.#o.intervalMs,
            },
          },
        });
        const stream = new AbortController();
        const onStop = (): void => stream.abort();
        signal.addEventListener('abort', onStop, { once: true });
        try {
          for await (const f of client.attach(out.drain(), { signal: stream.signal })) {
            if (f.frame.case === 'relayRequest') {
              this.#answer(machine, f.frame.value, out, stream.signal);
              continue;
            }
            if (f.frame.case !== 'heartbeat') continue;
            backoff.reset();
            this.#heard(machine, f.frame.value.sessions);
          }
        } finally {
          signal.removeEventListener('abort', onStop);
          stream.abort();
          out.end();
        }
      } catch (err) {
        if (signal.aborted) return;
        void errorMessage(err); // the state change is made by #check, on silence, not on errors
      }
      if (signal.aborted) return;
      await sleep(backoff.next(), undefined, { signal }).catch(() => undefined);
    }
  }

  #heard(machine: string, sessions: number): void {
    const before = this.#seen.get(machine)?.state;
    this.#seen.set(machine, { at: this.#o.now(), sessions, state: 'connected' });
    this.#o.registry.noteAnswer(machine);
    if (before === 'lost' || before === 'disconnected') this.#o.onRejoin?.(machine);
    if (before !== 'connected') this.#o.onConnected?.(machine);
  }

  /** Answer one relayed call on the stream it came up (in parallel with the others). */
  #answer(
    machine: string,
    req: RelayRequest,
    out: FrameQueue<OutFrame>,
    signal: AbortSignal,
  ): void {
    const refuse = async (): Promise<OutFrame['frame']> => ({
      case: 'relayResponse',
      value: {
        requestId: req.requestId,
        ok: false,
        errorCode: 'GT_NOT_RELAYABLE',
        errorMessage: 'this coordinator answers no relayed calls',
        errorHint: 'run the command on the coordinator machine',
      },
    });
    const answer =
      this.#o.relay === undefined
        ? refuse()
        : this.#o
            .relay(machine, req, signal)
            .then((value) => ({ case: 'relayResponse' as const, value }));
    void answer.then(
      (frame) => out.push({ frame }),
      () => undefined,
    );
  }
}
