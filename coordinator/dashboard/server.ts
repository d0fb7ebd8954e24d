/**
 * The Overseer's dashboard, served by the coordinator on 127.0.0.1 only:
 *   GET  /?token=…                          the page, with the feed's snapshot inlined
 *   GET  /events?token=…[&since=N]          the live stream (SSE) of DashboardEvents
 *   POST /gastown.v1.Coordinator/<Method>   an action: the Coordinator rpc of the same name, with
 *                                           the JSON form of its own request and response
 *                                           messages (Connect's unary JSON shape)
 * Every request needs the town's token (Authorization: Bearer, or ?token= where a browser cannot
 * set a header); a request from another origin, or naming another host (DNS rebinding), is
 * refused before the token is even looked at. A refusal says nothing but its status.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fromJson, toJson, toJsonString, type DescMethod } from '@bufbuild/protobuf';
import {
  Coordinator,
  DashboardEventSchema,
  DashboardSnapshotSchema,
  GtError,
  Status,
  toWireError,
  type ClientOf,
  type DashboardEvent,
} from '../../proto/index.js';
import type { TownFeed } from './feed.js';
import { tokenMatches } from './token.js';

export interface DashboardServerOptions {
  feed: TownFeed;
  /** The Coordinator service the page's actions call (the watched one: actions kick the feed). */
  client: ClientOf<typeof Coordinator>;
  token: string;
  /** 0: any free port. */
  port: number;
  /** Where index.html, app.js and style.css are (dist/dashboard). */
  pageDir: string;
  /** SSE comment sent this often so proxies and the browser know the stream lives (default 25 s). */
  keepAliveMs?: number;
}

export interface DashboardServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** The rpcs a page may call: what an Overseer does from the dashboard (and the pane preview). */
export const DASHBOARD_ACTIONS = new Set([
  'SendText',
  'KillSession',
  'SetAgentActive',
  'RetryMergeQueueEntry',
  'CancelSwarm',
  'MarkMailRead',
  'Capture',
]);

const HOST = '127.0.0.1';
const MAX_BODY = 1 << 20;

/** Connect's names for gRPC status codes, and the HTTP status Connect gives each. */
const CONNECT_CODE: Record<number, [string, number]> = {
  [Status.CANCELLED]: ['canceled', 499],
  [Status.UNKNOWN]: ['unknown', 500],
  [Status.INVALID_ARGUMENT]: ['invalid_argument', 400],
  [Status.DEADLINE_EXCEEDED]: ['deadline_exceeded', 504],
  [Status.NOT_FOUND]: ['not_found', 404],
  [Status.ALREADY_EXISTS]: ['already_exists', 409],
  [Status.PERMISSION_DENIED]: ['permission_denied', 403],
  [Status.RESOURCE_EXHAUSTED]: ['resource_exhausted', 429],
  [Status.FAILED_PRECONDITION]: ['failed_precondition', 400],
  [Status.ABORTED]: ['aborted', 409],
  [Status.UNIMPLEMENTED]: ['unimplemented', 501],
  [Status.INTERNAL]: ['internal', 500],
  [Status.UNAVAILABLE]: ['unavailable', 503],
};

export async function startDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  const page = loadPage(o.pageDir);
  const streams = new Set<ServerResponse>();
  let port = 0;
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
    const refusal = refuse(req, url, o.token, port);
    if (refusal !== undefined) {
      res.writeHead(refusal, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(refusal === 401 ? 'unauthorized\n' : 'forbidden\n');
      return;
    }
    if (req.method === 'GET' && url.pathname === '/') return servePage(res, page, o);
    if (req.method === 'GET' && url.pathname === '/events')
      return serveEvents(req, res, url, o, streams);
    const method = actionOf(url.pathname);
    if (req.method === 'POST' && method !== undefined) return serveAction(req, res, method, o);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://${HOST}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** 403 for another origin or host, 401 for a missing or wrong token; undefined: go on. */
function refuse(req: IncomingMessage, url: URL, token: string, port: number): number | undefined {
  const hosts = [`${HOST}:${port}`, `localhost:${port}`];
  if (!hosts.includes(req.headers.host ?? '')) return 403;
  const origin = req.headers.origin;
  if (origin !== undefined && !hosts.map((h) => `http://${h}`).includes(origin)) return 403;
  if (req.headers['sec-fetch-site'] === 'cross-site') return 403;
  const auth = req.headers.authorization;
  const presented =
    auth?.startsWith('Bearer ') === true ? auth.slice(7) : url.searchParams.get('token');
  if (presented === null || presented === '' || !tokenMatches(presented, token)) return 401;
  return undefined;
}

interface Page {
  html: string;
  script: string;
  style: string;
}

function loadPage(dir: string): Page {
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { html: read('index.html'), script: read('app.js'), style: read('style.css') };
}

/** JSON placed inside a <script> element: nothing in it can close the element. */
const scriptSafe = (json: string) => json.replace(/</g, '\\u003c').replace(/\u2028|\u2029/g, ' ');

async function servePage(
  res: ServerResponse,
  page: Page,
  o: DashboardServerOptions,
): Promise<void> {
  const snapshot = await o.feed.snapshot();
  const nonce = randomBytes(16).toString('base64');
  const html = page.html
    .replace(/%NONCE%/g, nonce)
    .replace('/*STYLE*/', () => page.style)
    .replace('/*SNAPSHOT*/', () => scriptSafe(toJsonString(DashboardSnapshotSchema, snapshot)))
    .replace('/*SCRIPT*/', () => page.script);
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  });
  res.end(html);
}

function serveEvents(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  o: DashboardServerOptions,
  streams: Set<ServerResponse>,
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  const feedId = o.feed.id;
  const send = (event: DashboardEvent): void => {
    const ok = res.write(
      `id: ${feedId}:${event.seq}\nevent: change\ndata: ${toJsonString(DashboardEventSchema, event)}\n\n`,
    );
    // A page that does not read its stream is dropped; it reconnects and gets a snapshot.
    if (!ok && res.writableLength > 4 * MAX_BODY) res.destroy();
  };
  // `<feed id>:<seq>` of the last event the page has (EventSource sends it back by itself).
  const from = /^([A-Za-z0-9_-]+):(\d+)$/.exec(
    String(req.headers['last-event-id'] ?? url.searchParams.get('since') ?? ''),
  );
  const fromSeq = from !== null && from[1] === feedId ? BigInt(from[2] ?? '0') : undefined;
  const since = fromSeq === undefined ? undefined : o.feed.since(fromSeq);
  // Subscribe first: nothing that happens while the snapshot is taken is missed.
  const pending: DashboardEvent[] = [];
  let live = false;
  const unsubscribe = o.feed.subscribe((e) => (live ? send(e) : pending.push(e)));
  streams.add(res);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), o.keepAliveMs ?? 25_000);
  keepAlive.unref();
  res.on('close', () => {
    clearInterval(keepAlive);
    unsubscribe();
    streams.delete(res);
  });
  void (async () => {
    let upTo: bigint;
    if (since !== undefined) {
      for (const e of since) send(e);
      upTo = since.at(-1)?.seq ?? fromSeq ?? 0n;
    } else {
      const snapshot = await o.feed.snapshot();
      res.write(
        `id: ${feedId}:${snapshot.seq}\nevent: snapshot\ndata: ${toJsonString(DashboardSnapshotSchema, snapshot)}\n\n`,
      );
      upTo = snapshot.seq;
    }
    for (const e of pending) if (e.seq > upTo) send(e);
    live = true;
    // A page that comes back after a while looks at the town now.
    o.feed.kick();
  })().catch(() => res.destroy());
}

function actionOf(path: string): DescMethod | undefined {
  const prefix = `/${Coordinator.typeName}/`;
  if (!path.startsWith(prefix)) return undefined;
  const name = path.slice(prefix.length);
  if (!DASHBOARD_ACTIONS.has(name)) return undefined;
  return Coordinator.methods.find((m) => m.name === name);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new GtError('GT_INVALID_ARGUMENT', 'request body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function serveAction(
  req: IncomingMessage,
  res: ServerResponse,
  method: DescMethod,
  o: DashboardServerOptions,
): Promise<void> {
  const reply = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  try {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
      throw new GtError('GT_INVALID_ARGUMENT', 'send the request as application/json');
    let request;
    try {
      request = fromJson(method.input, JSON.parse((await readBody(req)) || '{}') as never);
    } catch (err) {
      if (err instanceof GtError) throw err;
      throw new GtError('GT_INVALID_ARGUMENT', `bad ${method.input.typeName}: ${String(err)}`);
    }
    const call = (o.client as unknown as Record<string, (r: unknown) => Promise<unknown>>)[
      method.localName
    ];
    if (call === undefined) throw new GtError('GT_NOT_IMPLEMENTED', `no rpc ${method.name}`);
    const response = await call(request);
    reply(200, toJson(method.output, response as never));
  } catch (err) {
    const wire = toWireError(err);
    const [code, status] = CONNECT_CODE[wire.status] ?? ['unknown', 500];
    reply(status, {
      code,
      message: wire.message,
      gt_code: wire.code,
      ...(wire.hint === undefined ? {} : { hint: wire.hint }),
    });
  }
}
