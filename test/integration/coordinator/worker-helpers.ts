// A worker machine as gt-node-agent runs it (its NodeAgent socket and the sessions' relay socket,
// GT_AGENT_SOCKET) under a coordinator whose own machine homes rig alpha: the fleet of the relay
// tests (relay.test.ts) and of the relayed bd (bd-relayed.test.ts).
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { Uplink, agentSocketPath, createNodeAgent } from '../../../node-agent/index.js';
import {
  Coordinator,
  NodeAgent,
  createInProcessClient,
  loadGrpc,
  type ServiceDesc,
  type ServiceImpl,
} from '../../../proto/index.js';
import { addRigOn, fleetDir, startCoordinator, startMachine } from './fleet-helpers.js';

export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A worker machine as gt-node-agent runs it: NodeAgent socket + the sessions' relay socket. */
export async function startWorker(dir: string, name: string) {
  const grpc = await loadGrpc();
  const townRoot = join(dir, name);
  const uplink = new Uplink(name);
  const agent = createNodeAgent({ townRoot, machine: name, uplink });
  await agent.impl.installTown(
    { $typeName: 'gastown.v1.InstallTownRequest', root: townRoot, name: 'fleet', force: false },
    { signal: new AbortController().signal, peer: 'test' },
  );
  mkdirSync(join(townRoot, 'run'), { recursive: true, mode: 0o700 });
  const socket = join(dir, `${name}.sock`);
  const server = await grpc.serveUnix({
    socketPath: socket,
    services: [
      {
        service: NodeAgent as unknown as ServiceDesc<GenServiceMethods>,
        impl: agent.impl as unknown as ServiceImpl<GenServiceMethods>,
      },
    ],
  });
  const relayServer = await grpc.serveUnix({
    socketPath: agentSocketPath(townRoot),
    services: [
      {
        service: Coordinator as unknown as ServiceDesc<GenServiceMethods>,
        impl: agent.relayedCoordinator as unknown as ServiceImpl<GenServiceMethods>,
      },
    ],
  });
  // What a session's gt dials (GT_AGENT_SOCKET).
  const session = grpc.connectUnix(Coordinator, agentSocketPath(townRoot));
  onTestFinished(async () => {
    session.close();
    await grpc.stopServer(relayServer, 200);
    await grpc.stopServer(server, 200);
    await agent.close();
  });
  const own = createInProcessClient(NodeAgent, agent.impl);
  return { townRoot, socket, uplink, session: session.client, own };
}

export async function startFleet() {
  const dir = fleetDir();
  const home = await startMachine(dir, 'local');
  await addRigOn(home, 'alpha');
  const w1 = await startWorker(dir, 'w1');
  const up = async () => {
    const closers: Array<() => Promise<void>> = [];
    const fleet = await startCoordinator(
      home.townRoot,
      { local: home.socket, w1: w1.socket },
      { machineTimeoutMs: 2_000, liveness: { intervalMs: 100, graceMs: 200 }, closers },
    );
    const stop = async () => {
      for (const close of closers) await close();
    };
    onTestFinished(stop);
    await until('w1 attached', () => w1.uplink.connected);
    return { ...fleet, stop };
  };
  const mayorMail = async () =>
    (await home.client.listMail({ address: 'mayor', unreadOnly: false })).messages;
  return { dir, home, w1, up, mayorMail };
}
