/**
 * The Uplink: how this machine asks the coordinator something. Node agents never dial out, so a
 * call goes up the Attach stream the coordinator keeps open (a RelayRequest frame) and its answer
 * comes back down it (the RelayResponse with the same request id). With no stream open a call
 * fails at once: there is no other way to reach the coordinator.
 */
import { randomUUID } from 'node:crypto';
import {
  GtError,
  decodeResponse,
  encodeRequest,
  relayError,
  relayableMethod,
  type AgentFrameSchema,
  type CallOptions,
  type MessageInitShape,
  type RelayResponse,
} from '../proto/index.js';

type Frame = MessageInitShape<typeof AgentFrameSchema>;

/** Time a call gets when its caller set no deadline (the coordinator allows the same). */
export const UPLINK_DEFAULT_TIMEOUT_MS = 120_000;

interface Pending {
  stream: number;
  resolve: (res: RelayResponse) => void;
  reject: (err: unknown) => void;
}

export class Uplink {
  readonly machine: string;
  #stream: { id: number; push: (frame: Frame) => void } | undefined;
  #streams = 0;
  readonly #pending = new Map<string, Pending>();
  readonly #onOpen = new Set<() => void>();

  constructor(machine: string) {
    this.machine = machine;
  }

  get connected(): boolean {
    return this.#stream !== undefined;
  }

  /** The Attach stream is open (the coordinator said hello); returns what to call when it ends. */
  open(push: (frame: Frame) => void): () => void {
    this.#streams += 1;
    const id = this.#streams;
    this.#stream = { id, push };
    for (const fn of this.#onOpen) fn();
    return () => {
      if (this.#stream?.id === id) this.#stream = undefined;
      for (const [requestId, p] of this.#pending)
        if (p.stream === id) {
          this.#pending.delete(requestId);
          p.reject(this.#unreachable('the Attach stream closed before the answer came'));
        }
    };
  }

  /** A RelayResponse came down the stream. */
  answer(res: RelayResponse): void {
    const p = this.#pending.get(res.requestId);
    if (p === undefined) return; // its caller gave up
    this.#pending.delete(res.requestId);
    p.resolve(res);
  }

  /** Run `fn` whenever a stream opens (e.g. to send what waited); returns the unsubscribe. */
  onOpen(fn: () => void): () => void {
    this.#onOpen.add(fn);
    return () => this.#onOpen.delete(fn);
  }

  /** Call Coordinator method `name` (e.g. "SendMail") with `request`; resolves its response. */
  async call(name: string, request: unknown, options: CallOptions = {}): Promise<unknown> {
    const method = relayableMethod(name);
    const stream = this.#stream;
    if (stream === undefined) throw this.#unreachable('no Attach stream');
    options.signal?.throwIfAborted();
    const requestId = randomUUID();
    const timeoutMs = options.timeoutMs ?? UPLINK_DEFAULT_TIMEOUT_MS;
    const res = await new Promise<RelayResponse>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        this.#pending.delete(requestId);
        done();
        reject(
          new GtError('GT_CANCELLED', `${name} was cancelled before the coordinator answered`),
        );
      };
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        done();
        reject(
          new GtError('GT_TIMEOUT', `the coordinator did not answer ${name} in ${timeoutMs} ms`, {
            hint: `see \`gt machine status ${this.machine}\` on the coordinator's machine`,
          }),
        );
      }, timeoutMs + 1_000);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(requestId, {
        stream: stream.id,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      stream.push({
        frame: {
          case: 'relayRequest',
          value: {
            requestId,
            method: name,
            request: encodeRequest(method, request),
            timeoutMs: options.timeoutMs ?? 0,
          },
        },
      });
    });
    if (!res.ok) throw relayError(res);
    return decodeResponse(method, res.response);
  }

  #unreachable(why: string): GtError {
    return new GtError(
      'GT_COORDINATOR_UNREACHABLE',
      `the coordinator is not connected to machine ${this.machine} (${why})`,
      {
        hint: `the coordinator reaches this machine when its daemon runs: run \`gt up\` on the coordinator's machine, then \`gt machine status ${this.machine}\` there`,
      },
    );
  }
}
