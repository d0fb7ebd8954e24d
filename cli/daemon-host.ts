/** The daemon's body: state machine, pid file, socket, logger, idempotent shutdown. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import {
  Coordinator,
  claimPidFile,
  createInProcessClient,
  errorMessage,
  loadGrpc,
  packageRoot,
  type ServiceDesc,
  type ServiceImpl,
} from '../proto/index.js';
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { startRefineryLoop, type RefineryLoop } from './refinery-loop.js';
import { coordinatorPaths, removeRuntimeFiles } from './runtime-files.js';
import { hostInProcess } from './session.js';
import { WitnessLoop } from './witness-loop.js';

export type DaemonState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export interface DaemonOptions {
  townRoot: string;
  log?: Logger;
  graceMs?: number;
  /** How often the Refinery loop processes the rigs' merge queues. Default 10 s. */
  refineryIntervalMs?: number;
  /** How often the outbox retries mail for unreachable machines, when due (default 5 s). */
  outboxRetryMs?: number;
  /** How often the Witness loop looks for rigs due a patrol (default 1 s). */
  patrolTickMs?: number;
  /** While a dashboard page is open, how often the feed looks at everything anyway (60 s). */
  dashboardIdleRefreshMs?: number;
  /** How often the machines elastic swarms grew are looked at for deletion (default 30 s). */
  shrinkIntervalMs?: number;
}

/** The built page (dist/dashboard); from a source checkout, the page's sources. */
function dashboardPageDir(): string {
  const built = join(packageRoot(), 'dist', 'dashboard');
  return existsSync(built) ? built : join(packageRoot(), 'coordinator', 'dashboard', 'page');
}

export interface Daemon {
  readonly state: DaemonState;
  readonly closed: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const paths = coordinatorPaths(options.townRoot);
  mkdirSync(paths.dir, { recursive: true });
  const log = options.log ?? pino({ base: { component: 'daemon', pid: process.pid } });
  claimPidFile(paths.pid, 'the town daemon', 'stop it with `gt down`');
  let state: DaemonState = 'starting';
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let shuttingDown: Promise<void> | undefined;
  // Declared before shutdown() (which may run before the loop starts); assigned once below.
  // eslint-disable-next-line prefer-const
  let refinery: RefineryLoop | undefined;
  const witness: { loop?: WitnessLoop } = {};
  const dashboard: { town?: import('../coordinator/index.js').TownDashboard } = {};
  const shutdown = (): Promise<void> =>
    (shuttingDown ??= (async () => {
      state = 'draining';
      log.info('daemon draining');
      await refinery?.stop();
      await witness.loop?.stop();
      await dashboard.town?.close();
      await grpc.stopServer(server, options.graceMs ?? 2_000);
      await host.close();
      removeRuntimeFiles(paths);
      state = 'stopped';
      log.info('daemon stopped');
      resolveClosed();
    })());
  const [{ startTownDashboard, livenessSettings }, { loadTown }] = await Promise.all([
    import('../coordinator/index.js'),
    import('../node-agent/index.js'),
  ]);
  // A broken config/town.json is doctor's finding; the daemon serves on without its settings.
  const town = await loadTown(options.townRoot).then(
    (t) => t.config,
    (err: unknown) => {
      log.warn({ err: errorMessage(err) }, 'config/town.json unreadable: default settings');
      return { name: '', dashboard: undefined, fleet: undefined };
    },
  );
  const host = await hostInProcess({
    townRoot: options.townRoot,
    mode: 'daemon',
    onShutdown: () => void shutdown(),
    log,
    liveness: livenessSettings(town.fleet),
    reassignLost: town.fleet?.reassign_lost === true,
  });
  dashboard.town = await startTownDashboard({
    town: town.name,
    runDir: paths.dir,
    impl: host.coordinator,
    ...(town.dashboard?.port === undefined ? {} : { port: town.dashboard.port }),
    pageDir: dashboardPageDir(),
    log: log.child({ component: 'dashboard' }),
    ...(options.dashboardIdleRefreshMs === undefined
      ? {}
      : { idleRefreshMs: options.dashboardIdleRefreshMs }),
  });
  // Everything the daemon serves or runs goes through the watched coordinator: a change, whoever
  // makes it, reaches the dashboard's feed.
  const coordinator = dashboard.town.watched;
  const grpc = await loadGrpc();
  const server = await grpc.serveUnix({
    socketPath: paths.socket,
    services: [
      {
        service: Coordinator as unknown as ServiceDesc<GenServiceMethods>,
        impl: coordinator as unknown as ServiceImpl<GenServiceMethods>,
      },
    ],
  });
  refinery = startRefineryLoop({
    client: createInProcessClient(Coordinator, coordinator),
    intervalMs: options.refineryIntervalMs ?? 10_000,
    log,
  });
  witness.loop = new WitnessLoop({
    client: createInProcessClient(Coordinator, coordinator),
    log: log.child({ component: 'witness' }),
    ...(options.patrolTickMs === undefined ? {} : { tickMs: options.patrolTickMs }),
  });
  witness.loop.start();
  // Mail held for machines that could not be reached: delivered when due (the outbox's backoff).
  const outboxClient = createInProcessClient(Coordinator, coordinator);
  const outboxTimer = setInterval(() => {
    outboxClient
      .listOutbox({ retry: true, dueOnly: true })
      .then((r) => {
        if (r.delivered.length > 0) log.info({ delivered: r.delivered }, 'outbox delivered');
      })
      .catch((err: unknown) => log.warn({ err: String(err) }, 'outbox retry failed'));
  }, options.outboxRetryMs ?? 5_000);
  outboxTimer.unref();
  const stopOutbox = (): void => clearInterval(outboxTimer);
  void closed.then(stopOutbox);
  // Machines an elastic swarm grew: deleted when their swarm is complete and they sat idle.
  let shrinking = false;
  // A machine kept for unpushed work is logged when the reason is new, not on every pass.
  const heldLogged = new Map<string, string>();
  const shrinkTimer = setInterval(() => {
    if (shrinking || state !== 'running') return;
    shrinking = true;
    outboxClient
      .shrinkGrown({ dryRun: false })
      .then((r) => {
        for (const m of r.machines.filter((x) => x.outcome !== 'kept'))
          log.info(
            { machine: m.name, swarm: m.swarm, outcome: m.outcome, reason: m.reason },
            'shrink',
          );
        for (const m of r.machines) {
          const held = m.outcome === 'kept' && m.reason.startsWith('unpushed work');
          if (held && heldLogged.get(m.name) !== m.reason)
            log.warn(
              { machine: m.name, swarm: m.swarm, reason: m.reason },
              'shrink: kept, unpushed work',
            );
          if (held) heldLogged.set(m.name, m.reason);
          else heldLogged.delete(m.name);
        }
      })
      .catch((err: unknown) => log.warn({ err: String(err) }, 'shrink pass failed'))
      .finally(() => (shrinking = false));
  }, options.shrinkIntervalMs ?? 30_000);
  shrinkTimer.unref();
  void closed.then(() => clearInterval(shrinkTimer));
  state = 'running';
  log.info({ socket: paths.socket, town: options.townRoot }, 'daemon running');
  return {
    get state() {
      return state;
    },
    closed,
    shutdown,
  };
}
