/**
 * The dashboard as the town daemon runs it: the event feed over the coordinator, the coordinator
 * service wrapped so every change kicks the feed, and the page server on 127.0.0.1 with the
 * town's token. `run/dashboard.json` says where it is (for `gt dashboard`); the token is in
 * `run/dashboard.token`.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  Coordinator,
  createInProcessClient,
  writeFileAtomicSync,
  type ImplOf,
} from '../../proto/index.js';
import { TownFeed, type FeedLogger } from './feed.js';
import { startDashboardServer, type DashboardServer } from './server.js';
import { dashboardInfoPath, ensureDashboardToken } from './token.js';

export { TownFeed, type TownFeedOptions, type FeedLogger } from './feed.js';
export { startDashboardServer, DASHBOARD_ACTIONS, type DashboardServer } from './server.js';
export {
  dashboardInfoPath,
  dashboardTokenPath,
  ensureDashboardToken,
  readDashboardToken,
} from './token.js';

type Impl = ImplOf<typeof Coordinator>;

/** run/dashboard.json: where the daemon serves the page (no secret in it). */
export interface DashboardInfo {
  url: string;
  port: number;
  pid: number;
  started_at: string;
}

export interface TownDashboardOptions {
  town: string;
  runDir: string;
  /** The coordinator as built (the feed reads through it without kicking itself). */
  impl: Impl;
  /** The configured port (town config dashboard.port); undefined: the last one used, or any free. */
  port?: number;
  pageDir: string;
  log: FeedLogger & { info(obj: object, msg: string): void };
  idleRefreshMs?: number;
}

export interface TownDashboard {
  feed: TownFeed;
  /** Serve this one (gRPC socket, daemon loops): calls that change the town kick the feed. */
  watched: Impl;
  /** Undefined when the page could not be served (the daemon runs on without it). */
  server?: DashboardServer;
  close(): Promise<void>;
}

export function readDashboardInfo(runDir: string): DashboardInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(dashboardInfoPath(runDir), 'utf8')) as DashboardInfo;
    return typeof info.port === 'number' && typeof info.url === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

async function listen(
  o: TownDashboardOptions,
  feed: TownFeed,
  watched: Impl,
  token: string,
): Promise<DashboardServer> {
  const client = createInProcessClient(Coordinator, watched);
  const serve = (port: number) =>
    startDashboardServer({ feed, client, token, port, pageDir: o.pageDir });
  const wanted = o.port ?? readDashboardInfo(o.runDir)?.port;
  if (wanted === undefined) return serve(0);
  try {
    return await serve(wanted);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    o.log.warn(
      { port: wanted, configured: o.port !== undefined },
      'dashboard port in use: serving on a free port instead (gt dashboard prints it)',
    );
    return serve(0);
  }
}

export async function startTownDashboard(o: TownDashboardOptions): Promise<TownDashboard> {
  const feed = new TownFeed({
    client: createInProcessClient(Coordinator, o.impl),
    town: o.town,
    log: o.log,
    ...(o.idleRefreshMs === undefined ? {} : { idleRefreshMs: o.idleRefreshMs }),
  });
  const watched = feed.watch(o.impl);
  let server: DashboardServer | undefined;
  try {
    if (!existsSync(o.pageDir))
      throw new Error(`no dashboard page at ${o.pageDir} (npm run build)`);
    const token = ensureDashboardToken(o.runDir);
    server = await listen(o, feed, watched, token);
    const info: DashboardInfo = {
      url: server.url,
      port: server.port,
      pid: process.pid,
      started_at: new Date().toISOString(),
    };
    writeFileAtomicSync(dashboardInfoPath(o.runDir), `${JSON.stringify(info, null, 2)}\n`, 0o600);
    o.log.info({ url: server.url }, 'dashboard serving');
  } catch (err) {
    o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'dashboard not served');
  }
  return {
    feed,
    watched,
    ...(server === undefined ? {} : { server }),
    close: async () => {
      await server?.close();
      await feed.stop();
    },
  };
}
