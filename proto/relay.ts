/**
 * Calls relayed up the Attach stream: a `gt` or `bd` run in a session on a worker machine asks
 * its node agent, which carries the Coordinator-service call up the stream it keeps with the
 * coordinator (node agents never dial out). Both sides share the allow-list and the codec here.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { GtError, type GtErrorCode } from './errors.js';
import { Coordinator } from './gen/gastown/v1/coordinator_pb.js';

/**
 * What a session on a worker may ask the coordinator (reasons in docs/decisions.md, "Relayed
 * calls"): its own work (mail, beads, done/handoff, status, the merge queue, swarms, priming,
 * nudging and reading panes). Machine and town administration, rig add/remove, spawning and
 * shutdown are the Overseer's, from the coordinator's machine.
 */
export const RELAYABLE_METHODS: ReadonlySet<string> = new Set([
  'GetInfo',
  'ListRigs',
  'GetStatus',
  'Prime',
  'SendMail',
  'ListMail',
  'MarkMailRead',
  'ReadMail',
  'ListPolecats',
  'SetAgentActive',
  'Done',
  'Handoff',
  'SendText',
  'Capture',
  'ReleaseIssue',
  'ListMergeQueue',
  'GetMergeQueueEntry',
  'ListSwarms',
  'ListPlugins',
  'RunBeads',
]);

type CoordinatorMethod = (typeof Coordinator.methods)[number];

/** The unary Coordinator method `name` if a worker may relay it; else GT_NOT_RELAYABLE. */
export function relayableMethod(name: string): CoordinatorMethod {
  const method = Coordinator.methods.find((m) => m.name === name);
  if (method === undefined || !RELAYABLE_METHODS.has(name) || method.methodKind !== 'unary')
    throw new GtError(
      'GT_NOT_RELAYABLE',
      `${name === '' ? 'a call without a method name' : `${name}`} cannot be asked from a worker machine's session: only the Overseer runs it, on the coordinator's machine`,
      {
        hint: `run it on the coordinator's machine; from a worker machine's sessions, mail (gt send, gt inbox), bd, gt done, gt handoff, gt status and the merge queue's listing are available`,
      },
    );
  return method;
}

export function encodeRequest(method: CoordinatorMethod, request: unknown): Uint8Array {
  return toBinary(method.input, create(method.input, request as never));
}
export function decodeRequest(method: CoordinatorMethod, bytes: Uint8Array): unknown {
  return fromBinary(method.input, bytes);
}
export function encodeResponse(method: CoordinatorMethod, response: unknown): Uint8Array {
  return toBinary(method.output, create(method.output, response as never));
}
export function decodeResponse(method: CoordinatorMethod, bytes: Uint8Array): unknown {
  return fromBinary(method.output, bytes);
}

/** The GtError a failed RelayResponse carries. */
export function relayError(res: {
  errorCode: string;
  errorMessage: string;
  errorHint: string;
}): GtError {
  return new GtError((res.errorCode || 'GT_INTERNAL') as GtErrorCode, res.errorMessage, {
    ...(res.errorHint === '' ? {} : { hint: res.errorHint }),
  });
}

/** A small async queue of frames: producers push, one stream pulls; end() finishes it. */
export class FrameQueue<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#wake?.();
  }
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }
  get ended(): boolean {
    return this.#ended;
  }
  async *drain(): AsyncGenerator<T> {
    for (;;) {
      const next = this.#items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }
}
