#!/usr/bin/env node
/**
 * The town daemon (`gt up`): hosts the coordinator (on <town>/run/coordinator.sock) with the local
 * node agent in-process, and runs the background loops. The only place that reads argv, installs
 * signal handlers or sets the exit code for the daemon; everything below takes explicit options.
 */
import { startDaemon } from './daemon-host.js';

const townIndex = process.argv.indexOf('--town');
const townRoot = townIndex === -1 ? undefined : process.argv[townIndex + 1];
if (townRoot === undefined) {
  process.stderr.write('usage: gt-daemon --town <path>\n');
  process.exit(2);
}
const refineryEnv = Number(process.env.GT_REFINERY_INTERVAL_MS ?? '');
const shrinkEnv = Number(process.env.GT_SHRINK_INTERVAL_MS ?? '');
const daemon = await startDaemon({
  townRoot,
  ...(Number.isFinite(shrinkEnv) && shrinkEnv > 0 ? { shrinkIntervalMs: shrinkEnv } : {}),
  ...(Number.isFinite(refineryEnv) && refineryEnv > 0 ? { refineryIntervalMs: refineryEnv } : {}),
});
const stop = (): void => void daemon.shutdown();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
await daemon.closed;
process.exitCode = daemon.state === 'failed' ? 1 : 0;
