/**
 * The coordinator's side of relayed calls: a RelayRequest that came up a machine's Attach stream
 * is decoded with the Coordinator service descriptor and answered by the coordinator's own
 * implementation, so it is routed exactly like the same gt command run on the Overseer's
 * machine. Only the allow-listed methods run (proto/relay.ts); the rest are refused.
 */
import {
  GtError,
  decodeRequest,
  encodeResponse,
  relayableMethod,
  toWireError,
  type CallContext,
  type MessageInitShape,
  type RelayRequest,
  type RelayResponseSchema,
} from '../proto/index.js';
import type { CoordinatorImpl } from './coordinator.js';

/** Time a relayed call gets when its caller set no deadline. */
export const RELAY_DEFAULT_TIMEOUT_MS = 120_000;

export type RelayAnswer = MessageInitShape<typeof RelayResponseSchema>;

export async function answerRelay(
  impl: CoordinatorImpl,
  machine: string,
  req: RelayRequest,
  signal: AbortSignal,
): Promise<RelayAnswer> {
  const timeoutMs = req.timeoutMs > 0 ? req.timeoutMs : RELAY_DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const ctx: CallContext = {
    signal: AbortSignal.any([signal, timeout]),
    peer: `relay:${machine}`,
    deadline: Date.now() + timeoutMs,
  };
  try {
    const method = relayableMethod(req.method);
    const fn = (
      impl as unknown as Record<string, (r: unknown, c: CallContext) => Promise<unknown>>
    )[method.localName];
    if (fn === undefined)
      throw new GtError('GT_NOT_IMPLEMENTED', `the coordinator has no ${req.method}`);
    const result = await fn.call(impl, decodeRequest(method, req.request), ctx);
    return { requestId: req.requestId, ok: true, response: encodeResponse(method, result) };
  } catch (err) {
    const wire = toWireError(
      timeout.aborted && !(err instanceof GtError)
        ? new GtError(
            'GT_TIMEOUT',
            `${req.method} relayed from ${machine} took over ${timeoutMs} ms`,
          )
        : err,
    );
    return {
      requestId: req.requestId,
      ok: false,
      errorCode: wire.code,
      errorMessage: wire.message,
      errorHint: wire.hint ?? '',
    };
  }
}
