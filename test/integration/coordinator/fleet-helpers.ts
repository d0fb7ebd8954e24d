// A fleet for coordinator tests: real node agents, each on its own temp town, served over real
// gRPC unix sockets, behind a real MachineRegistry; plus the two kinds of broken machine (a socket
// nobody listens on, and one that accepts connections but never answers).
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import {
  FleetDirectory,
  MachineRegistry,
  createCoordinator,
  type CoordinatorImpl,
  type Machine,
} from '../../../coordinator/index.js';
import { createNodeAgent, type NodeAgentImpl } from '../../../node-agent/index.js';
import {
  Coordinator,
  NodeAgent,
  createInProcessClient,
  loadGrpc,
  type ClientOf,
  type ServiceDesc,
  type ServiceImpl,
} from '../../../proto/index.js';
import { makeBareRepo } from '../../helpers/git.js';
import { tempDir } from '../../helpers/tmp.js';

export interface FleetMachine {
  name: string;
  townRoot: string;
  socket: string;
  /** A direct client of this machine's node agent (to check what landed where). */
  client: ClientOf<typeof NodeAgent>;
}

/** Parts of a node agent's service replaced for a test (a handshake of another version, ...). */
export type AgentOverrides = Partial<NodeAgentImpl>;

/** A node agent on its own town `<dir>/<name>`, served on `<dir>/<name>.sock`. */
export async function startMachine(
  dir: string,
  name: string,
  overrides: AgentOverrides = {},
): Promise<FleetMachine> {
  const grpc = await loadGrpc();
  const townRoot = join(dir, name);
  const agent = createNodeAgent({ townRoot, machine: name });
  await agent.impl.installTown(
    { $typeName: 'gastown.v1.InstallTownRequest', root: townRoot, name: 'fleet', force: false },
    { signal: new AbortController().signal, peer: 'test' },
  );
  const socket = join(dir, `${name}.sock`);
  const server = await grpc.serveUnix({
    socketPath: socket,
    services: [
      {
        service: NodeAgent as unknown as ServiceDesc<GenServiceMethods>,
        impl: { ...agent.impl, ...overrides } as unknown as ServiceImpl<GenServiceMethods>,
      },
    ],
  });
  const { client, close } = grpc.connectUnix(NodeAgent, socket);
  onTestFinished(async () => {
    close();
    await grpc.stopServer(server, 500);
    await agent.close();
  });
  return { name, townRoot, socket, client };
}

/** A socket that accepts connections and never says a word (a hung machine). */
export async function startHungSocket(path: string): Promise<void> {
  const held: Array<import('node:net').Socket> = [];
  const server: Server = createServer((s) => held.push(s));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const s of held) s.destroy();
        server.close(() => resolve());
      }),
  );
}

/** Add rig `rig` (from a fresh bare repo) on `machine`, through its own node agent. */
export async function addRigOn(machine: FleetMachine, rig: string): Promise<void> {
  const bare = makeBareRepo(join(machine.townRoot, '..', `${rig}-origin`));
  await machine.client.addRig({ name: rig, gitUrl: bare, prefix: '' });
}

export interface Fleet {
  coordinator: CoordinatorImpl;
  client: ClientOf<typeof Coordinator>;
  registry: MachineRegistry;
  directory: FleetDirectory;
}

/**
 * A coordinator over `sockets` (machine name → socket path; the first is its own machine,
 * "local"), every machine dialled over gRPC by the same factory.
 */
export async function startCoordinator(
  townRoot: string,
  sockets: Record<string, string>,
  options: {
    machineTimeoutMs?: number;
    doctorTimeoutMs?: number;
    protocolVersion?: number;
    liveness?: { intervalMs?: number; graceMs?: number; lostAfterMs?: number };
    reassignLost?: boolean;
    closers?: Array<() => Promise<void>>;
  } = {},
): Promise<Fleet> {
  const grpc = await loadGrpc();
  const machines: Record<string, Machine> = {};
  for (const name of Object.keys(sockets)) machines[name] = { type: 'local' };
  const registry = new MachineRegistry({
    machines,
    ...(options.protocolVersion === undefined ? {} : { protocolVersion: options.protocolVersion }),
    factories: {
      local: async (name) => {
        const path = sockets[name];
        if (path === undefined) throw new Error(`no socket for ${name}`);
        const { client, close } = grpc.connectUnix(NodeAgent, path);
        return { name, type: 'local', client, close: async () => close() };
      },
    },
  });
  onTestFinished(() => registry.close());
  const directory = new FleetDirectory({
    registry,
    home: 'local',
    timeoutMs: options.machineTimeoutMs ?? 2_000,
  });
  const coordinator = createCoordinator({
    directory,
    townRoot,
    mode: 'embedded',
    registry,
    machineTimeoutMs: options.machineTimeoutMs ?? 2_000,
    doctorTimeoutMs: options.doctorTimeoutMs ?? options.machineTimeoutMs ?? 2_000,
    stopTimeoutMs: options.machineTimeoutMs ?? 2_000,
    ...(options.liveness === undefined ? {} : { liveness: options.liveness }),
    ...(options.reassignLost === undefined ? {} : { reassignLost: options.reassignLost }),
    ...(options.closers === undefined ? {} : { closers: options.closers }),
  });
  return {
    coordinator,
    client: createInProcessClient(Coordinator, coordinator),
    registry,
    directory,
  };
}

export function fleetDir(): string {
  return tempDir('gtf-');
}

/**
 * A machine whose node agent (rig `rig` homed there) is served on a socket that can be taken down
 * and brought back (`down()` / `up()`; it starts down): a host that drops off and returns.
 */
export async function startSwitchableMachine(dir: string, name: string, rig: string) {
  const grpc = await loadGrpc();
  const townRoot = join(dir, name);
  const agent = createNodeAgent({ townRoot, machine: name });
  await agent.impl.installTown(
    { $typeName: 'gastown.v1.InstallTownRequest', root: townRoot, name: 'fleet', force: false },
    { signal: new AbortController().signal, peer: 'test' },
  );
  await agent.impl.addRig(
    {
      $typeName: 'gastown.v1.AddRigRequest',
      name: rig,
      gitUrl: makeBareRepo(join(dir, `${rig}-origin`)),
      prefix: '',
    },
    { signal: new AbortController().signal, peer: 'test' },
  );
  const socket = join(dir, `${name}.sock`);
  let server: Awaited<ReturnType<typeof grpc.serveUnix>> | undefined;
  const b = {
    townRoot,
    socket,
    async up() {
      server = await grpc.serveUnix({
        socketPath: socket,
        services: [
          {
            service: NodeAgent as unknown as ServiceDesc<GenServiceMethods>,
            impl: agent.impl as unknown as ServiceImpl<GenServiceMethods>,
          },
        ],
      });
    },
    async down() {
      if (server !== undefined) await grpc.stopServer(server, 200);
      server = undefined;
    },
    async subjects(address: string) {
      const direct = createInProcessClient(NodeAgent, agent.impl);
      return (await direct.listMail({ address, unreadOnly: false })).messages.map((m) => [
        m.id,
        m.subject,
      ]);
    },
  };
  onTestFinished(async () => {
    await b.down();
    await agent.close();
  });
  return b;
}
