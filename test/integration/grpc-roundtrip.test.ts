// A real gRPC round trip over a real unix socket: the NodeAgent service served by the grpc-js
// adapter, called through the typed client; a GtError crosses the boundary with code and hint.
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  GtError,
  NodeAgent,
  PROTOCOL_VERSION,
  createInProcessClient,
  loadGrpc,
  type ServiceDesc,
  type ServiceImpl,
} from '../../proto/index.js';
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { createNodeAgent } from '../../node-agent/index.js';
import { tempDir } from '../helpers/tmp.js';

async function serveAgent(townRoot: string) {
  const grpc = await loadGrpc();
  const agent = createNodeAgent({ townRoot, machine: 'local' });
  const socketPath = join(dirname(townRoot), `agent-${basename(townRoot)}.sock`);
  const server = await grpc.serveUnix({
    socketPath,
    services: [
      {
        service: NodeAgent as unknown as ServiceDesc<GenServiceMethods>,
        impl: agent.impl as unknown as ServiceImpl<GenServiceMethods>,
      },
    ],
  });
  const { client, close } = grpc.connectUnix(NodeAgent, socketPath);
  onTestFinished(async () => {
    close();
    await grpc.stopServer(server);
    await agent.close();
  });
  return { client, socketPath, agent };
}

describe('gRPC over a unix socket', () => {
  it('serves on an owner-only socket and answers the version handshake', async () => {
    const root = tempDir();
    const { client, socketPath } = await serveAgent(root);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    const hello = await client.handshake({
      coordinatorVersion: 'test',
      protocolVersion: PROTOCOL_VERSION,
      machine: 'local',
    });
    expect(hello.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(hello.townRoot).toBe(root);
    expect(hello.pid).toBe(process.pid);
  });

  it('carries a GtError across with its code and hint, identical to the in-process path', async () => {
    const root = join(tempDir(), 'town');
    const { client, agent } = await serveAgent(root);
    await client.installTown({ root, name: 'rt', force: false });
    const overWire = (await client
      .installTown({ root, name: 'rt', force: false })
      .catch((e: unknown) => e)) as GtError;
    expect(overWire).toBeInstanceOf(GtError);
    expect(overWire.code).toBe('GT_TOWN_EXISTS');
    expect(overWire.hint).toMatch(/--force/);
    const inProcess = (await createInProcessClient(NodeAgent, agent.impl)
      .installTown({ root, name: 'rt', force: false })
      .catch((e: unknown) => e)) as GtError;
    expect({ code: inProcess.code, message: inProcess.message, hint: inProcess.hint }).toEqual({
      code: overWire.code,
      message: overWire.message,
      hint: overWire.hint,
    });
  });

  it('keeps a bidirectional attach stream: welcome, heartbeats, ping/pong', async () => {
    const root = tempDir();
    const { client } = await serveAgent(root);
    const controller = new AbortController();
    const frames = (async function* () {
      yield {
        frame: {
          case: 'hello' as const,
          value: {
            coordinatorVersion: 'test',
            protocolVersion: PROTOCOL_VERSION,
            heartbeatIntervalMs: 100,
          },
        },
      };
      yield { frame: { case: 'ping' as const, value: { nonce: 42n } } };
      await new Promise((r) => setTimeout(r, 1_000));
    })();
    const seen: string[] = [];
    let heartbeats = 0;
    for await (const f of client.attach(frames, { signal: controller.signal })) {
      seen.push(f.frame.case ?? 'none');
      if (f.frame.case === 'pong') expect(f.frame.value.nonce).toBe(42n);
      if (f.frame.case === 'heartbeat' && ++heartbeats === 3) break;
    }
    controller.abort();
    expect(seen[0]).toBe('welcome');
    expect(seen).toContain('pong');
    expect(heartbeats).toBe(3);
  });

  it('maps an unreachable socket to GT_MACHINE_UNREACHABLE with a hint', async () => {
    const grpc = await loadGrpc();
    const { client, close } = grpc.connectUnix(NodeAgent, join(tempDir(), 'nobody.sock'));
    onTestFinished(close);
    const err = (await client
      .handshake({}, { timeoutMs: 2_000 })
      .catch((e: unknown) => e)) as GtError;
    expect(err).toBeInstanceOf(GtError);
    expect(['GT_MACHINE_UNREACHABLE', 'GT_TIMEOUT']).toContain(err.code);
    expect(err.message).toContain('nobody.sock');
  });
});
