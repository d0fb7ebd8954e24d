// A simulated fleet for bench/fleet-scale.mjs (bundled to dist/bench/fleet-sim.js by
// deploy/bundle.mjs). Two halves, run in two processes so the coordinator's own memory can be
// read apart from the agents':
//
//   node dist/bench/fleet-sim.js host <dir> <machines> <polecats>
//     N real node agents in this one process, each on its own town (<dir>/m<i>) with one rig
//     added through its own AddRig and <polecats> polecat records, each served on its own
//     owner-only unix socket over real gRPC. Prints one JSON line {sockets} when all serve; exits
//     when stdin closes.
//
//   import { coordinatorOver } from 'dist/bench/fleet-sim.js'
//     A coordinator (the same createCoordinator and MachineRegistry `gt up` runs) over some of
//     those sockets, every machine dialled by the same factory shape as a real one; with
//     `liveness`, watching their heartbeats as the daemon does.
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MachineRegistry, createCoordinator, type Machine } from '../coordinator/index.js';
import { createNodeAgent } from '../node-agent/index.js';
import {
  Coordinator,
  NodeAgent,
  createInProcessClient,
  loadGrpc,
  type ClientOf,
  type ServiceDesc,
  type ServiceImpl,
} from '../proto/index.js';

export { Coordinator, loadGrpc, NodeAgent };

const ctx = () => ({ signal: new AbortController().signal, peer: 'fleet-sim' });

function originRepo(dir: string): string {
  const work = join(dir, 'origin-work');
  const bare = join(dir, 'origin.git');
  mkdirSync(work, { recursive: true });
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  git(work, 'init', '-q', '-b', 'main');
  writeFileSync(join(work, 'README.md'), 'simulated fleet\n');
  git(work, 'add', '.');
  git(work, '-c', 'user.name=sim', '-c', 'user.email=sim@example.invalid', 'commit', '-qm', 'init');
  git(dir, 'clone', '-q', '--bare', work, bare);
  return bare;
}

/** Serve `machines` node agents under `dir`; resolves with their sockets (name → path). */
export async function hostAgents(
  dir: string,
  machines: number,
  polecats: number,
): Promise<{ sockets: Record<string, string>; close: () => Promise<void> }> {
  const grpc = await loadGrpc();
  const origin = originRepo(dir);
  const sockets: Record<string, string> = {};
  const closers: Array<() => Promise<void>> = [];
  for (let i = 0; i < machines; i++) {
    const name = `m${i}`;
    const townRoot = join(dir, name);
    const agent = createNodeAgent({ townRoot, machine: name });
    await agent.impl.installTown(
      { $typeName: 'gastown.v1.InstallTownRequest', root: townRoot, name: 'sim', force: false },
      ctx(),
    );
    await agent.impl.addRig(
      { $typeName: 'gastown.v1.AddRigRequest', name: `rig${i}`, gitUrl: origin, prefix: 'sim' },
      ctx(),
    );
    const now = new Date().toISOString();
    for (let p = 0; p < polecats; p++) {
      const home = join(townRoot, `rig${i}`, 'polecats', `P${p}`);
      mkdirSync(home, { recursive: true });
      writeFileSync(
        join(home, 'state.json'),
        JSON.stringify({
          version: 1,
          role: 'polecat',
          state: 'working',
          issue: `sim-${p}`,
          session: `gt-rig${i}-P${p}`,
          epoch: p + 1,
          updated_at: now,
        }),
      );
    }
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
    sockets[name] = socket;
    closers.push(async () => {
      await grpc.stopServer(server, 200);
      await agent.close();
    });
  }
  return {
    sockets,
    close: async () => {
      await Promise.all(closers.map((c) => c()));
    },
  };
}

export interface SimCoordinator {
  client: ClientOf<typeof Coordinator>;
  registry: MachineRegistry;
  close: () => Promise<void>;
}

/** A coordinator whose own town is `townRoot`, over `sockets` (the first is its own machine). */
export async function coordinatorOver(
  townRoot: string,
  sockets: Record<string, string>,
  timeoutMs = 10_000,
  /** Watch heartbeats as the daemon does (`gt up`). */
  liveness?: { intervalMs: number; graceMs: number; lostAfterMs: number },
): Promise<SimCoordinator> {
  const grpc = await loadGrpc();
  const machines: Record<string, Machine> = {};
  const names = Object.keys(sockets);
  names.forEach((name, i) => {
    machines[i === 0 ? 'local' : name] = { type: 'local' };
  });
  const socketOf = (name: string): string => {
    const path = name === 'local' ? sockets[names[0] ?? ''] : sockets[name];
    if (path === undefined) throw new Error(`no socket for ${name}`);
    return path;
  };
  const registry = new MachineRegistry({
    machines,
    factories: {
      local: async (name) => {
        const { client, close } = grpc.connectUnix(NodeAgent, socketOf(name));
        return { name, type: 'local', client, close: async () => close() };
      },
    },
  });
  const closers: Array<() => Promise<void>> = [];
  const coordinator = createCoordinator({
    townRoot,
    mode: liveness === undefined ? 'embedded' : 'daemon',
    registry,
    machineTimeoutMs: timeoutMs,
    doctorTimeoutMs: timeoutMs,
    stopTimeoutMs: timeoutMs,
    closers,
    ...(liveness === undefined ? {} : { liveness }),
  });
  return {
    client: createInProcessClient(Coordinator, coordinator),
    registry,
    close: async () => {
      for (const close of closers) await close();
      await registry.close();
    },
  };
}

const [mode, dir, count, polecats] = process.argv.slice(2);
if (mode === 'host' && dir !== undefined) {
  const hosted = await hostAgents(dir, Number(count ?? 10), Number(polecats ?? 20));
  process.stdout.write(`${JSON.stringify({ sockets: hosted.sockets })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void hosted.close().then(() => process.exit(0));
  });
}
