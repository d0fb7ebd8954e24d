/**
 * The grpc-js adapter: protoc-gen-es emits message schemas and service descriptors but no grpc-js
 * stubs, so this turns a descriptor into a grpc-js service definition + handlers (server side) and
 * a typed ServiceClient (client side). GtErrors cross as status + gt-error-* metadata.
 *
 * Loading this module loads grpc-js; callers reach it through `loadGrpc()` in index.ts so that
 * commands that never touch the network do not pay for it.
 */
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
} from '@bufbuild/protobuf';
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import * as grpc from '@grpc/grpc-js';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { GtError } from './errors.js';
import { checkSocketPath } from './unix-socket.js';
import {
  METADATA_CODE,
  METADATA_DETAILS,
  METADATA_HINT,
  Status,
  toWireError,
  type CallContext,
  type CallOptions,
  type ServiceClient,
  type ServiceDesc,
  type ServiceImpl,
} from './rpc.js';
import { errorFromStatus } from './status-error.js';

type AnyFn = (...args: unknown[]) => unknown;

function serializer(schema: DescMessage) {
  return (value: unknown): Buffer => Buffer.from(toBinary(schema, create(schema, value as never)));
}
function deserializer(schema: DescMessage) {
  return (bytes: Buffer): unknown => fromBinary(schema, bytes);
}

function pathOf(service: { typeName: string }, method: DescMethod): string {
  return `/${service.typeName}/${method.name}`;
}

/** The grpc-js ServiceDefinition of a protobuf-es service descriptor. */
export function grpcServiceDefinition(
  service: ServiceDesc<GenServiceMethods>,
): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    def[method.localName] = {
      path: pathOf(service, method),
      requestStream:
        method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream:
        method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
  }
  return def;
}

function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const wire = toWireError(err);
  const metadata = new grpc.Metadata();
  metadata.set(METADATA_CODE, wire.code);
  if (wire.hint !== undefined) metadata.set(METADATA_HINT, encodeURIComponent(wire.hint));
  if (wire.details !== undefined)
    metadata.set(METADATA_DETAILS, encodeURIComponent(JSON.stringify(wire.details)));
  return { code: wire.status, details: wire.message, metadata };
}

/** Rebuild a GtError from a grpc-js ServiceError (transport failures get codes of their own). */
export function fromServiceError(err: unknown, target: string): GtError {
  if (err instanceof GtError) return err;
  const se = err as Partial<grpc.ServiceError>;
  return errorFromStatus({
    status: se.code ?? Status.UNKNOWN,
    details: se.details ?? se.message ?? String(err),
    metadata: (key) => {
      const value = se.metadata?.get(key)[0];
      return typeof value === 'string' ? value : undefined;
    },
    target,
    cause: err,
  });
}

type SurfaceCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerReadableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;

function serverContext(call: SurfaceCall): { ctx: CallContext; done: () => void } {
  const controller = new AbortController();
  const onCancel = (): void =>
    controller.abort(new GtError('GT_CANCELLED', 'the caller cancelled the call'));
  const events = call as unknown as NodeJS.EventEmitter;
  events.on('cancelled', onCancel);
  const deadline = call.getDeadline();
  let timer: NodeJS.Timeout | undefined;
  let at: number | undefined;
  if (deadline instanceof Date || typeof deadline === 'number') {
    const ms = Number(deadline) - Date.now();
    if (Number.isFinite(ms)) at = Number(deadline);
    if (Number.isFinite(ms))
      timer = setTimeout(
        () => controller.abort(new GtError('GT_TIMEOUT', 'deadline exceeded')),
        Math.max(ms, 0),
      );
  }
  return {
    ctx: { signal: controller.signal, peer: call.getPeer(), deadline: at },
    done: () => {
      events.removeListener('cancelled', onCancel);
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

async function writeAll(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  items: AsyncIterable<unknown>,
): Promise<void> {
  for await (const item of items) {
    if (!call.write(item)) await new Promise((resolve) => call.once('drain', resolve));
  }
}

/** grpc-js handlers that run `impl`. */
export function grpcHandlers<T extends GenServiceMethods>(
  service: ServiceDesc<T>,
  impl: ServiceImpl<T>,
): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const fn = (impl as Record<string, AnyFn>)[method.localName];
    if (fn === undefined)
      throw new Error(`grpc adapter: no implementation for ${service.typeName}.${method.name}`);
    const run = (...args: unknown[]): unknown => fn.apply(impl, args);
    switch (method.methodKind) {
      case 'unary':
      case 'client_streaming':
        // One response: the input is the request (unary) or the request stream itself.
        handlers[method.localName] = ((
          call:
            grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          const { ctx, done } = serverContext(call);
          const input =
            method.methodKind === 'unary'
              ? (call as grpc.ServerUnaryCall<unknown, unknown>).request
              : call;
          (run(input, ctx) as Promise<unknown>).then(
            (result) => {
              done();
              callback(null, result);
            },
            (err: unknown) => {
              done();
              callback(toServiceError(err));
            },
          );
        }) as grpc.handleUnaryCall<unknown, unknown>;
        break;
      case 'server_streaming':
      case 'bidi_streaming':
        handlers[method.localName] = ((call: grpc.ServerDuplexStream<unknown, unknown>) => {
          const { ctx, done } = serverContext(call);
          const input =
            method.methodKind === 'bidi_streaming'
              ? call
              : (call as unknown as { request: unknown }).request;
          writeAll(call, run(input, ctx) as AsyncIterable<unknown>).then(
            () => {
              done();
              call.end();
            },
            (err: unknown) => {
              done();
              call.emit('error', toServiceError(err));
            },
          );
        }) as grpc.handleBidiStreamingCall<unknown, unknown>;
        break;
    }
  }
  return handlers;
}

/** Keepalive settings used on both sides (DESIGN §8: set on both, not too often → no GOAWAY). */
export const KEEPALIVE_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 20_000,
  'grpc.http2.min_time_between_pings_ms': 20_000,
  'grpc.http2.max_pings_without_data': 0,
};

export interface UnixServerOptions {
  socketPath: string;
  services: Array<{
    service: ServiceDesc<GenServiceMethods>;
    impl: ServiceImpl<GenServiceMethods>;
  }>;
}

/**
 * Serve services on a unix socket with owner-only permissions (0600). A stale socket file left by a
 * dead process is removed first; the caller must have checked that no live process owns it.
 */
export async function serveUnix(options: UnixServerOptions): Promise<grpc.Server> {
  // Node would cut a longer path silently and bind another file than the one clients dial.
  checkSocketPath(options.socketPath);
  const server = new grpc.Server(KEEPALIVE_OPTIONS);
  for (const { service, impl } of options.services)
    server.addService(grpcServiceDefinition(service), grpcHandlers(service, impl));
  if (existsSync(options.socketPath)) unlinkSync(options.socketPath);
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(
        `unix:${options.socketPath}`,
        grpc.ServerCredentials.createInsecure(),
        (err) => (err ? reject(err) : resolve()),
      );
    });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(options.socketPath, 0o600);
  return server;
}

/** Stop a server: graceful within graceMs, then forced. */
export async function stopServer(server: grpc.Server, graceMs = 2_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function callOptionsFor(options: CallOptions | undefined): grpc.CallOptions {
  return options?.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}

function bindSignal(call: grpc.Call, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => undefined;
  const onAbort = (): void => call.cancel();
  if (signal.aborted) call.cancel();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

async function* readStream(
  stream: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
  target: string,
  unbind: () => void,
): AsyncIterable<unknown> {
  try {
    for await (const item of stream) yield item;
  } catch (err) {
    throw fromServiceError(err, target);
  } finally {
    unbind();
  }
}

/** A typed client for `service` over a grpc-js channel (e.g. `new grpc.Client('unix:/path', creds)`). */
export function createGrpcClient<T extends GenServiceMethods>(
  service: ServiceDesc<T>,
  channel: grpc.Client,
  target: string,
): ServiceClient<T> {
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    const path = pathOf(service, method);
    const ser = serializer(method.input);
    const de = deserializer(method.output);
    switch (method.methodKind) {
      case 'unary':
        client[method.localName] = (request: unknown, options?: CallOptions) =>
          new Promise((resolve, reject) => {
            const call = channel.makeUnaryRequest(
              path,
              ser,
              de,
              request,
              new grpc.Metadata(),
              callOptionsFor(options),
              (err, value) => {
                unbind();
                if (err) reject(fromServiceError(err, target));
                else resolve(value);
              },
            );
            const unbind = bindSignal(call, options?.signal);
          });
        break;
      case 'server_streaming':
        client[method.localName] = (request: unknown, options?: CallOptions) => {
          const call = channel.makeServerStreamRequest(
            path,
            ser,
            de,
            request,
            new grpc.Metadata(),
            callOptionsFor(options),
          );
          return readStream(call, target, bindSignal(call, options?.signal));
        };
        break;
      case 'bidi_streaming':
        client[method.localName] = (requests: AsyncIterable<unknown>, options?: CallOptions) => {
          const call = channel.makeBidiStreamRequest(
            path,
            ser,
            de,
            new grpc.Metadata(),
            callOptionsFor(options),
          );
          void (async () => {
            try {
              for await (const r of requests) {
                if (!call.write(r)) await new Promise((resolve) => call.once('drain', resolve));
              }
              call.end();
            } catch {
              call.cancel();
            }
          })();
          return readStream(call, target, bindSignal(call, options?.signal));
        };
        break;
      case 'client_streaming':
        client[method.localName] = (requests: AsyncIterable<unknown>, options?: CallOptions) =>
          new Promise((resolve, reject) => {
            const call = channel.makeClientStreamRequest(
              path,
              ser,
              de,
              new grpc.Metadata(),
              callOptionsFor(options),
              (err, value) => {
                unbind();
                if (err) reject(fromServiceError(err, target));
                else resolve(value);
              },
            );
            const unbind = bindSignal(call, options?.signal);
            void (async () => {
              for await (const r of requests) call.write(r);
              call.end();
            })();
          });
        break;
    }
  }
  return client as ServiceClient<T>;
}

/** Open a channel to a unix socket and return a typed client plus its close(). */
export function connectUnix<T extends GenServiceMethods>(
  service: ServiceDesc<T>,
  socketPath: string,
): { client: ServiceClient<T>; close: () => void } {
  const channel = new grpc.Client(
    `unix:${socketPath}`,
    grpc.credentials.createInsecure(),
    KEEPALIVE_OPTIONS,
  );
  return { client: createGrpcClient(service, channel, socketPath), close: () => channel.close() };
}
