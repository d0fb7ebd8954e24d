/**
 * The GtError a failed gRPC call stands for, from its status, message and gt-error-* metadata:
 * the server's own GtError when it sent one, else one per transport status. One mapping for
 * every client (the grpc-js adapter and the light unary client of unix-unary.ts), so a user sees
 * the same text whichever carried the call.
 */
import { GtError } from './errors.js';
import {
  METADATA_CODE,
  METADATA_DETAILS,
  METADATA_HINT,
  Status,
  fromWireError,
  type WireError,
} from './rpc.js';

export interface FailedCall {
  /** The gRPC status code. */
  status: number;
  /** The status message (grpc-message), or the transport's own words. */
  details: string;
  /** A metadata value of the answer (trailers), by key. */
  metadata: (key: string) => string | undefined;
  /** What was called (a socket path), for the messages. */
  target: string;
  cause?: unknown;
}

export function errorFromStatus(call: FailedCall): GtError {
  const code = call.metadata(METADATA_CODE);
  if (code !== undefined) {
    const hint = call.metadata(METADATA_HINT);
    const details = call.metadata(METADATA_DETAILS);
    const wire: WireError = {
      status: call.status,
      message: call.details,
      code: code as WireError['code'],
      hint: hint === undefined ? undefined : decodeURIComponent(hint),
      details:
        details === undefined
          ? undefined
          : (JSON.parse(decodeURIComponent(details)) as Record<string, unknown>),
    };
    return fromWireError(wire);
  }
  const { target, details: detail } = call;
  const cause = { cause: call.cause };
  switch (call.status) {
    case Status.UNAVAILABLE:
      return new GtError('GT_MACHINE_UNREACHABLE', `cannot reach ${target}: ${detail}`, {
        hint: 'is the daemon or node agent running? check `gt up --status`, or run `gt doctor --fix` to clear a stale socket',
        ...cause,
      });
    case Status.DEADLINE_EXCEEDED:
      return new GtError('GT_TIMEOUT', `call to ${target} timed out: ${detail}`, cause);
    case Status.CANCELLED:
      return new GtError('GT_CANCELLED', `call to ${target} was cancelled`, cause);
    case Status.UNIMPLEMENTED:
      return new GtError('GT_VERSION_SKEW', `${target} does not implement this call: ${detail}`, {
        hint: 'the coordinator and node agent run different versions; upgrade the older one',
        ...cause,
      });
    default:
      return new GtError('GT_INTERNAL', `call to ${target} failed: ${detail}`, cause);
  }
}
