import { rmSync } from 'node:fs';
/** The daemon's runtime files under <town>/run/ (DESIGN §4: visible, not hidden). */
import { join } from 'node:path';

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

/** Remove the daemon's pid file and socket (stale ones, or our own on shutdown). */
export function removeRuntimeFiles(paths: RuntimePaths): void {
  for (const file of [paths.pid, paths.socket]) rmSync(file, { force: true });
}
