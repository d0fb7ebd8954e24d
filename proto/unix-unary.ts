/**
 * One unary gRPC call on a unix socket, over Node's own HTTP/2, without grpc-js: for a process
 * that makes a single call and exits (a relayed `bd` in a session on a worker machine), where
 * loading grpc-js cost more than the whole relay. It speaks the gRPC wire protocol every server
 * of ours speaks (grpc-js's), so nothing changes on the server's side: POST to
 * `/<package>.<Service>/<Method>` (the package carries the protocol version, gastown.v1),
 * `content-type: application/grpc`, one length-prefixed uncompressed message each way, and the
 * status in the trailers (or in the headers of a trailers-only answer). Errors are rebuilt from
 * the status and gt-error-* metadata by the same mapping grpc-js callers use (status-error.ts).
 * Streams, compression and keepalive are not needed here and not supported.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { GtError } from './errors.js';
import { Status } from './rpc.js';
import { errorFromStatus } from './status-error.js';

export interface UnixUnaryOptions {
  socketPath: string;
  /** `/<package>.<Service>/<Method>`, e.g. /gastown.v1.Coordinator/RunBeads. */
  path: string;
  /** The request message, encoded. */
  request: Uint8Array;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** The largest answer accepted (default 64 MiB). */
  maxResponseBytes?: number;
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A message as gRPC frames it: a compression flag (0), its length (4 bytes, big-endian), it. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** The one message of a unary answer's body; an error when the body is not exactly one frame. */
export function grpcUnframe(body: Buffer, target: string): Uint8Array {
  const bad = (why: string): GtError =>
    new GtError('GT_INTERNAL', `call to ${target} failed: the answer ${why}`);
  if (body.length < 5) throw bad(`holds no message (${body.length} bytes)`);
  if (body[0] !== 0) throw bad('is compressed, which this client does not accept');
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length)
    throw bad(`is ${body.length} bytes where its frame says ${5 + length}`);
  return body.subarray(5);
}

function header(h: IncomingHttpHeaders | undefined, key: string): string | undefined {
  const v = h?.[key];
  return Array.isArray(v) ? v[0] : v;
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Call `path` on the server at `socketPath`; resolves the response message's bytes. */
export async function unixUnary(o: UnixUnaryOptions): Promise<Uint8Array> {
  const [http2, net] = await Promise.all([import('node:http2'), import('node:net')]);
  o.signal?.throwIfAborted();
  const target = o.socketPath;
  const session = http2.connect('http://localhost', {
    createConnection: () => net.connect(o.socketPath),
  });
  let ok = false;
  try {
    const res = await new Promise<Uint8Array>((resolve, reject) => {
      const fail = (status: number, details: string, cause?: unknown): void =>
        reject(errorFromStatus({ status, details, metadata: () => undefined, target, cause }));
      session.on('error', (err: Error) => fail(Status.UNAVAILABLE, err.message, err));
      const stream = session.request({
        ':method': 'POST',
        ':path': o.path,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...(o.timeoutMs === undefined ? {} : { 'grpc-timeout': `${Math.ceil(o.timeoutMs)}m` }),
      });
      const cancel = (status: number, details: string): void => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        fail(status, details);
      };
      const onAbort = (): void => cancel(Status.CANCELLED, 'cancelled');
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        o.timeoutMs === undefined
          ? undefined
          : setTimeout(() => cancel(Status.DEADLINE_EXCEEDED, 'deadline exceeded'), o.timeoutMs);
      const max = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
      const chunks: Buffer[] = [];
      let size = 0;
      let headers: IncomingHttpHeaders | undefined;
      let trailers: IncomingHttpHeaders | undefined;
      stream.on('response', (h) => (headers = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) cancel(Status.RESOURCE_EXHAUSTED, `the answer is over ${max} bytes`);
        else chunks.push(chunk);
      });
      stream.on('error', (err: Error) => fail(Status.UNAVAILABLE, err.message, err));
      stream.on('close', () => {
        if (timer !== undefined) clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        try {
          resolve(answer(headers, trailers, Buffer.concat(chunks), target));
        } catch (err) {
          reject(err);
        }
      });
      stream.end(grpcFrame(o.request));
    });
    ok = true;
    return res;
  } finally {
    // After a failure the peer may be hung: a graceful close could wait for it forever.
    if (ok) session.close();
    else session.destroy();
  }
}

/** The response message, or the error the status (and gt-error-* metadata) stands for. */
function answer(
  headers: IncomingHttpHeaders | undefined,
  trailers: IncomingHttpHeaders | undefined,
  body: Buffer,
  target: string,
): Uint8Array {
  if (headers === undefined)
    throw errorFromStatus({
      status: Status.UNAVAILABLE,
      details: 'the connection closed before an answer',
      metadata: () => undefined,
      target,
    });
  // A trailers-only answer (an error before any message) carries its status in the headers.
  const meta = trailers !== undefined && 'grpc-status' in trailers ? trailers : headers;
  const statusText = header(meta, 'grpc-status');
  const httpStatus = Number(header(headers, ':status'));
  const status =
    statusText === undefined
      ? httpStatus === 200
        ? Status.UNKNOWN
        : Status.UNAVAILABLE
      : Number(statusText);
  if (status !== Status.OK)
    throw errorFromStatus({
      status,
      details: percentDecoded(
        header(meta, 'grpc-message') ??
          (statusText === undefined ? `HTTP ${httpStatus} without a gRPC status` : ''),
      ),
      metadata: (key) => header(meta, key),
      target,
    });
  return grpcUnframe(body, target);
}
