import { rmSync } from 'node:fs';
/** The daemon's runtime files under <town>/run/ (DESIGN §4: visible, not hidden). */
import { join } from 'node:path';
import { pidAlive, procState, readPidFile, socketAnswers } from '../proto/index.js';

export interface RuntimePaths {
  dir: string;
  pid: string;
  socket: string;
  log: string;
}

export function coordinatorPaths(townRoot: string): RuntimePaths {
  const dir = join(townRoot, 'run');
  return {
    dir,
    pid: join(dir, 'coordinator.pid'),
    socket: join(dir, 'coordinator.sock'),
    log: join(dir, 'coordinator.log'),
  };
}

export { livePid, pidAlive } from '../proto/index.js';

/**
 * Whether the town daemon serves: running when its pid file names a live process (not a zombie)
 * AND its socket accepts a connection. Otherwise `stale` says why a pid file is there without a
 * daemon behind it, and `pid` is set when that process still runs (hung, or still starting), so
 * `gt up` does not start a second one beside it.
 */
export type DaemonLiveness =
  { running: true; pid: number } | { running: false; pid?: number; stale?: string };

export async function daemonLiveness(
  paths: RuntimePaths,
  timeoutMs = 500,
): Promise<DaemonLiveness> {
  const pid = readPidFile(paths.pid);
  if (pid === undefined) return { running: false };
  if (!pidAlive(pid))
    return {
      running: false,
      stale:
        procState(pid) === 'Z'
          ? `its process ${pid} is a zombie (it exited; its parent has not reaped it)`
          : `its process ${pid} is not running`,
    };
  if (await socketAnswers(paths.socket, timeoutMs)) return { running: true, pid };
  return {
    running: false,
    pid,
    stale: `its process ${pid} runs but nothing answers on ${paths.socket}`,
  };
}

/** Remove the daemon's pid file and socket (stale ones, or our own on shutdown). */
export function removeRuntimeFiles(paths: RuntimePaths): void {
  for (const file of [paths.pid, paths.socket]) rmSync(file, { force: true });
}
