#!/usr/bin/env node
/**
 * gt-node-agent: the node agent as its own process (one per machine; on remote machines the
 * coordinator reaches it through an SSH tunnel to this socket). Serves the NodeAgent service on
 * an owner-only unix socket, <town>/run/node-agent.sock, and logs JSON to stderr (pino). Sessions
 * on this machine reach the coordinator through it too: it serves the Coordinator service on
 * <town>/run/agent-gt.sock and relays each call up the Attach stream (agent-socket.ts).
 *
 *   gt-node-agent --town <path> [--machine <name>] [--socket <path>] [--no-loops]
 *
 * It runs this machine's Witness and Refinery loops itself (own-loops.ts; docs/decisions.md
 * "Loops in the node agent"); `--no-loops` leaves them to the daemon (`gt up`) on the
 * coordinator's machine, as before. GT_LOOP_TICK_MS sets how often the loops look for due rigs.
 *
 * The only place that reads argv/env, installs signal handlers or sets the exit code.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import {
  claimPidFile,
  Coordinator,
  loadGrpc,
  NodeAgent,
  type ServiceDesc,
  type ServiceImpl,
} from '../proto/index.js';
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { createNodeAgent } from './node-agent.js';
import { agentSocketPath } from './agent-socket.js';
import { Uplink } from './uplink.js';

const { values } = parseArgs({
  options: {
    town: { type: 'string' },
    machine: { type: 'string', default: 'local' },
    socket: { type: 'string' },
    'no-loops': { type: 'boolean', default: false },
  },
});
const tickEnv = Number(process.env.GT_LOOP_TICK_MS ?? '');
const townRoot = resolve(values.town ?? process.env.GT_TOWN ?? process.cwd());
const socketPath = values.socket ?? join(townRoot, 'run', 'node-agent.sock');
const log = pino(
  { base: { component: 'gt-node-agent', pid: process.pid, machine: values.machine } },
  pino.destination(2),
);
mkdirSync(join(townRoot, 'run'), { recursive: true, mode: 0o700 });
const pidFile = join(townRoot, 'run', 'node-agent.pid');
try {
  claimPidFile(pidFile, 'a node agent for this town', `stop it first: kill $(cat ${pidFile})`);
} catch (err) {
  const e = err as { message: string; hint?: string };
  process.stderr.write(`error: ${e.message}\n${e.hint === undefined ? '' : `hint: ${e.hint}\n`}`);
  process.exit(1);
}
const machine = values.machine ?? 'local';
const agent = createNodeAgent({
  townRoot,
  machine,
  log,
  uplink: new Uplink(machine),
  ...(values['no-loops'] === true
    ? {}
    : { loops: Number.isFinite(tickEnv) && tickEnv > 0 ? { tickMs: tickEnv } : {} }),
});
const grpc = await loadGrpc();
const relaySocket = agentSocketPath(townRoot);
const relayServer = await grpc.serveUnix({
  socketPath: relaySocket,
  services: [
    {
      service: Coordinator as unknown as ServiceDesc<GenServiceMethods>,
      impl: agent.relayedCoordinator as unknown as ServiceImpl<GenServiceMethods>,
    },
  ],
});
const server = await grpc.serveUnix({
  socketPath,
  services: [
    {
      service: NodeAgent as unknown as ServiceDesc<GenServiceMethods>,
      impl: agent.impl as unknown as ServiceImpl<GenServiceMethods>,
    },
  ],
});
// `loops`: own (this process patrols and merges this machine's rigs) or daemon (`--no-loops`).
log.info(
  { socket: socketPath, town: townRoot, loops: values['no-loops'] === true ? 'daemon' : 'own' },
  'node agent serving',
);

let stopping = false;
const shutdown = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  log.info('node agent stopping');
  await grpc.stopServer(relayServer);
  await grpc.stopServer(server);
  await agent.close();
  rmSync(relaySocket, { force: true });
  rmSync(socketPath, { force: true });
  rmSync(pidFile, { force: true });
  process.exitCode = 0;
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
