/**
 * The in-process transport: a ServiceClient that calls a ServiceImpl directly (embedded mode),
 * with exactly the semantics of the network path: every message goes through its binary wire
 * form, defaults are filled the same way, and errors cross as WireErrors. So which process hosts
 * a service never changes an answer.
 */
import { create, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { GtError } from './errors.js';
import {
  fromWireError,
  toWireError,
  type CallContext,
  type CallOptions,
  type ServiceClient,
  type ServiceDesc,
  type ServiceImpl,
} from './rpc.js';

function wire<D extends DescMessage>(schema: D, init: unknown): ReturnType<typeof fromBinary<D>> {
  // create() accepts an init shape or a message; the binary round trip drops anything not on the wire.
  return fromBinary(schema, toBinary(schema, create(schema, init as never)));
}

function callContext(options: CallOptions | undefined): { ctx: CallContext; done: () => void } {
  const controller = new AbortController();
  const cleanups: Array<() => void> = [];
  if (options?.signal !== undefined) {
    const parent = options.signal;
    const onAbort = (): void => controller.abort(parent.reason);
    if (parent.aborted) controller.abort(parent.reason);
    else {
      parent.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => parent.removeEventListener('abort', onAbort));
    }
  }
  if (options?.timeoutMs !== undefined) {
    const timer = setTimeout(
      () =>
        controller.abort(new GtError('GT_TIMEOUT', `call timed out after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    cleanups.push(() => clearTimeout(timer));
  }
  const deadline = options?.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  return {
    ctx: { signal: controller.signal, peer: 'in-process', deadline },
    done: () => cleanups.forEach((c) => c()),
  };
}

function rethrow(err: unknown): never {
  throw fromWireError(toWireError(err));
}

async function* mapIterable<T, U>(source: AsyncIterable<T>, fn: (value: T) => U): AsyncIterable<U> {
  for await (const value of source) yield fn(value);
}

/** A client for `service` whose calls run `impl` in this process. */
export function createInProcessClient<T extends GenServiceMethods>(
  service: ServiceDesc<T>,
  impl: ServiceImpl<T>,
): ServiceClient<T> {
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    const fn = (impl as Record<string, (...args: unknown[]) => unknown>)[method.localName];
    if (fn === undefined)
      throw new Error(
        `in-process client: no implementation for ${service.typeName}.${method.name}`,
      );
    const input = method.input;
    const output = method.output;
    switch (method.methodKind) {
      case 'unary':
        client[method.localName] = async (request: unknown, options?: CallOptions) => {
          const { ctx, done } = callContext(options);
          try {
            const result = await (fn.call(impl, wire(input, request), ctx) as Promise<unknown>);
            return wire(output, result);
          } catch (err) {
            rethrow(err);
          } finally {
            done();
          }
        };
        break;
      case 'server_streaming':
        client[method.localName] = (request: unknown, options?: CallOptions) =>
          (async function* () {
            const { ctx, done } = callContext(options);
            try {
              const stream = fn.call(impl, wire(input, request), ctx) as AsyncIterable<unknown>;
              for await (const item of stream) yield wire(output, item);
            } catch (err) {
              rethrow(err);
            } finally {
              done();
            }
          })();
        break;
      case 'client_streaming':
      case 'bidi_streaming':
        client[method.localName] = (requests: AsyncIterable<unknown>, options?: CallOptions) => {
          const { ctx, done } = callContext(options);
          const mapped = mapIterable(requests, (r) => wire(input, r));
          if (method.methodKind === 'client_streaming') {
            return (fn.call(impl, mapped, ctx) as Promise<unknown>).then(
              (result) => {
                done();
                return wire(output, result);
              },
              (err: unknown) => {
                done();
                rethrow(err);
              },
            );
          }
          return (async function* () {
            try {
              for await (const item of fn.call(impl, mapped, ctx) as AsyncIterable<unknown>)
                yield wire(output, item);
            } catch (err) {
              rethrow(err);
            } finally {
              done();
            }
          })();
        };
        break;
    }
  }
  return client as ServiceClient<T>;
}
