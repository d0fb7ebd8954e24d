/** gt up / gt up --status / gt down: the town daemon's lifecycle, from the outside. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Coordinator, GtError, checkSocketPath, loadGrpc, packageRoot } from '../../proto/index.js';
import { out, printJson } from '../output.js';
import {
  coordinatorPaths,
  daemonLiveness,
  livePid,
  pidAlive,
  removeRuntimeFiles,
} from '../runtime-files.js';
import { resolveTownRoot } from '../town-root.js';
import { optionsOf } from './context.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForSocket(socket: string, pid: number, timeoutMs: number): Promise<void> {
  const grpc = await loadGrpc();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) break;
    if (existsSync(socket)) {
      const { client, close } = grpc.connectUnix(Coordinator, socket);
      try {
        await client.getInfo({}, { timeoutMs: 1_000 });
        return;
      } catch {
        /* not serving yet */
      } finally {
        close();
      }
    }
    await sleep(50);
  }
  throw new GtError('GT_DAEMON_FAILED', `the daemon did not come up within ${timeoutMs} ms`, {
    hint: `read its log: ${socket.replace(/coordinator\.sock$/, 'coordinator.log')}`,
  });
}

export async function up(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  const townRoot = resolveTownRoot(opts.town);
  const paths = coordinatorPaths(townRoot);
  const live = await daemonLiveness(paths);
  if (opts.status === true) {
    const state = {
      running: live.running,
      pid: live.running ? live.pid : null,
      socket: paths.socket,
      log: paths.log,
      town_root: townRoot,
      stale: live.running ? null : (live.stale ?? null),
    };
    if (opts.json === true) return printJson(state);
    if (live.running)
      out(`daemon: running, pid ${live.pid}, socket ${paths.socket}, log ${paths.log}`);
    else
      out(
        live.stale === undefined
          ? `daemon: not running (town ${townRoot})`
          : `daemon: not running (town ${townRoot}); stale pid file ${paths.pid}: ${live.stale}`,
      );
    if (!live.running) process.exitCode = 1;
    return;
  }
  if (live.running) {
    throw new GtError('GT_DAEMON_RUNNING', `the town daemon is already running (pid ${live.pid})`, {
      hint: 'stop it with `gt down`; see it with `gt up --status`',
    });
  }
  if (live.pid !== undefined) {
    throw new GtError(
      'GT_DAEMON_RUNNING',
      `the town daemon's process ${live.pid} runs but does not answer on ${paths.socket}`,
      { hint: `read its log ${paths.log}; stop it with \`gt down\`, then \`gt up\`` },
    );
  }
  // The daemon could not bind its socket: say so now rather than wait for it in vain.
  checkSocketPath(paths.socket);
  // A pid file or socket without a live process is stale: clear it.
  removeRuntimeFiles(paths);
  mkdirSync(paths.dir, { recursive: true });
  const logFd = openSync(paths.log, 'a', 0o600);
  const main = join(packageRoot(), 'dist', 'cli', 'gt-daemon.js');
  const child = spawn(process.execPath, [main, '--town', townRoot], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    cwd: townRoot,
  });
  closeSync(logFd);
  child.unref();
  if (child.pid === undefined)
    throw new GtError('GT_DAEMON_FAILED', 'could not start the daemon process', {
      hint: `see ${paths.log}`,
    });
  await waitForSocket(paths.socket, child.pid, 15_000);
  out(`daemon started: pid ${child.pid}, socket ${paths.socket}, log ${paths.log}`);
}

export async function down(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  const townRoot = resolveTownRoot(opts.town);
  const paths = coordinatorPaths(townRoot);
  const pid = livePid(paths.pid);
  if (pid === undefined) {
    removeRuntimeFiles(paths);
    throw new GtError('GT_DAEMON_NOT_RUNNING', `no daemon is running for ${townRoot}`, {
      hint: 'start one with `gt up`',
    });
  }
  const grpc = await loadGrpc();
  const { client, close } = grpc.connectUnix(Coordinator, paths.socket);
  try {
    await client.shutdown({}, { timeoutMs: 5_000 });
  } catch {
    process.kill(pid, 'SIGTERM');
  } finally {
    close();
  }
  const deadline = Date.now() + 10_000;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    await sleep(100);
  }
  removeRuntimeFiles(paths);
  out(`daemon stopped (pid ${pid})`);
}
