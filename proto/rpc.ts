/**
 * Transport-neutral RPC types over protobuf-es service descriptors, and the GtError wire format.
 * Nothing here loads grpc-js: the in-process path (embedded mode) must stay light.
 */
import type { DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { GtError, diskFullError, isDiskFull, type GtErrorCode } from './errors.js';

export interface CallOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface CallContext {
  /** Aborted when the caller cancels or the deadline passes. */
  signal: AbortSignal;
  /** Peer description for logs ("in-process", "unix:/path", ...). */
  peer: string;
  /** When the caller's deadline passes (ms since the epoch), if it set one. */
  deadline?: number | undefined;
}

/**
 * Call options that pass a handler's cancellation and remaining deadline on to the next hop (a
 * forwarded call): cancelling the first call cancels the second, and the second gets no more
 * time than the first had left.
 */
export function passThrough(ctx: CallContext): CallOptions {
  return {
    signal: ctx.signal,
    timeoutMs: ctx.deadline === undefined ? undefined : Math.max(1, ctx.deadline - Date.now()),
  };
}

type Shape = GenServiceMethods[string];
type In<M extends Shape> = MessageShape<M['input']>;
type InInit<M extends Shape> = MessageInitShape<M['input']>;
type Out<M extends Shape> = MessageShape<M['output']>;
type OutInit<M extends Shape> = MessageInitShape<M['output']>;

export type MethodImpl<M extends Shape> = M['methodKind'] extends 'unary'
  ? (request: In<M>, ctx: CallContext) => Promise<OutInit<M>>
  : M['methodKind'] extends 'server_streaming'
    ? (request: In<M>, ctx: CallContext) => AsyncIterable<OutInit<M>>
    : M['methodKind'] extends 'client_streaming'
      ? (requests: AsyncIterable<In<M>>, ctx: CallContext) => Promise<OutInit<M>>
      : (requests: AsyncIterable<In<M>>, ctx: CallContext) => AsyncIterable<OutInit<M>>;

export type MethodClient<M extends Shape> = M['methodKind'] extends 'unary'
  ? (request: InInit<M>, options?: CallOptions) => Promise<Out<M>>
  : M['methodKind'] extends 'server_streaming'
    ? (request: InInit<M>, options?: CallOptions) => AsyncIterable<Out<M>>
    : M['methodKind'] extends 'client_streaming'
      ? (requests: AsyncIterable<InInit<M>>, options?: CallOptions) => Promise<Out<M>>
      : (requests: AsyncIterable<InInit<M>>, options?: CallOptions) => AsyncIterable<Out<M>>;

/** The server side of a service: one function per rpc. */
export type ServiceImpl<T extends GenServiceMethods> = { [K in keyof T]: MethodImpl<T[K]> };

/** The client side of a service: one function per rpc, same shape for every transport. */
export type ServiceClient<T extends GenServiceMethods> = { [K in keyof T]: MethodClient<T[K]> };

/** A service descriptor carrying its method shapes (what protoc-gen-es emits). */
export type ServiceDesc<T extends GenServiceMethods> = Omit<DescService, 'method'> & {
  method: { [K in keyof T]: T[K] & DescService['methods'][number] };
};

/** gRPC status codes (numbers fixed by the gRPC spec). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** What crosses the wire for an error: status + gt-error-* metadata. */
export interface WireError {
  status: number;
  message: string;
  code: GtErrorCode;
  hint?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

const STATUS_FOR: Partial<Record<GtErrorCode, number>> = {
  GT_USAGE: Status.INVALID_ARGUMENT,
  GT_INVALID_ADDRESS: Status.INVALID_ARGUMENT,
  GT_INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  GT_NOT_FOUND: Status.NOT_FOUND,
  GT_RIG_NOT_FOUND: Status.NOT_FOUND,
  GT_AGENT_NOT_FOUND: Status.NOT_FOUND,
  GT_ALREADY_EXISTS: Status.ALREADY_EXISTS,
  GT_RIG_EXISTS: Status.ALREADY_EXISTS,
  GT_TOWN_EXISTS: Status.ALREADY_EXISTS,
  GT_NOT_A_TOWN: Status.FAILED_PRECONDITION,
  GT_DIR_NOT_EMPTY: Status.FAILED_PRECONDITION,
  GT_NOT_WRITABLE: Status.FAILED_PRECONDITION,
  GT_CONFIG_INVALID: Status.FAILED_PRECONDITION,
  GT_CONFIG_MISSING: Status.FAILED_PRECONDITION,
  GT_DIRTY: Status.FAILED_PRECONDITION,
  GT_CLAIMED: Status.ABORTED,
  GT_CONFLICT: Status.ABORTED,
  GT_LOCK_TIMEOUT: Status.UNAVAILABLE,
  GT_MACHINE_UNREACHABLE: Status.UNAVAILABLE,
  GT_ORIGIN_UNREACHABLE: Status.FAILED_PRECONDITION,
  GT_TIMEOUT: Status.DEADLINE_EXCEEDED,
  GT_DISK_FULL: Status.RESOURCE_EXHAUSTED,
  GT_CANCELLED: Status.CANCELLED,
  GT_NOT_IMPLEMENTED: Status.UNIMPLEMENTED,
  GT_COORDINATOR_UNREACHABLE: Status.UNAVAILABLE,
  GT_NOT_RELAYABLE: Status.PERMISSION_DENIED,
};

/** Map any thrown value to its wire form. Non-GtErrors become GT_INTERNAL (message kept). */
export function toWireError(err: unknown): WireError {
  if (err instanceof GtError) {
    return {
      status: STATUS_FOR[err.code] ?? Status.UNKNOWN,
      message: err.message,
      code: err.code,
      hint: err.hint,
      details: err.details,
    };
  }
  // A write that ran out of space somewhere we did not map it at the source is still no bug.
  if (isDiskFull(err)) {
    const path = (err as { path?: unknown }).path;
    return toWireError(diskFullError(typeof path === 'string' ? path : 'a file', err));
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    status: Status.INTERNAL,
    message: `internal error: ${message}`,
    code: 'GT_INTERNAL',
    hint: 'this is a bug in Gas Town; run again with --debug and report it with the output',
  };
}

/** Rebuild the GtError a wire error stands for. */
export function fromWireError(wire: WireError): GtError {
  return new GtError(wire.code, wire.message, { hint: wire.hint, details: wire.details });
}

export const METADATA_CODE = 'gt-error-code';
export const METADATA_HINT = 'gt-error-hint';
export const METADATA_DETAILS = 'gt-error-details';

type GenServiceOf<T extends GenServiceMethods> =
  import('@bufbuild/protobuf/codegenv2').GenService<T>;
/** The method shapes of a generated service descriptor. */
export type MethodsOf<S> = S extends GenServiceOf<infer T> ? T : never;
/** The typed client of a generated service descriptor (e.g. ClientOf<typeof NodeAgent>). */
export type ClientOf<S> = ServiceClient<MethodsOf<S>>;
/** The implementation type of a generated service descriptor. */
export type ImplOf<S> = ServiceImpl<MethodsOf<S>>;
