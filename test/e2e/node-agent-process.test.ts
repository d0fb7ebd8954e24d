// gt-node-agent as its own process: owner-only socket under <town>/run/, handshake over gRPC,
// a second instance refused, clean shutdown on SIGTERM (socket and pid file removed).
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { NodeAgent, PROTOCOL_VERSION, loadGrpc } from '../../proto/index.js';
import { REPO_ROOT, gt, runNode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const AGENT = join(REPO_ROOT, 'dist', 'node-agent', 'main.js');

async function waitFor(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('gt-node-agent', () => {
  it('serves the NodeAgent service on <town>/run/node-agent.sock and shuts down cleanly', async () => {
    const town = join(tempDir(), 'town');
    expect((await gt(['install', town])).code).toBe(0);
    const child = spawn(process.execPath, [AGENT, '--town', town], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const socket = join(town, 'run', 'node-agent.sock');
    await waitFor(() => existsSync(socket) && stderr.includes('node agent serving'));
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(JSON.parse(stderr.split('\n')[0] ?? '{}')).toMatchObject({
      level: 30,
      component: 'gt-node-agent',
      msg: 'node agent serving',
    });

    const grpc = await loadGrpc();
    const { client, close } = grpc.connectUnix(NodeAgent, socket);
    const hello = await client.handshake({
      coordinatorVersion: 'test',
      protocolVersion: PROTOCOL_VERSION,
      machine: 'local',
    });
    expect(hello).toMatchObject({
      protocolVersion: PROTOCOL_VERSION,
      townRoot: town,
      pid: child.pid,
    });
    const rigs = await client.listRigs({});
    expect(rigs.rigs).toEqual([]);
    close();

    const second = await runNode(AGENT, ['--town', town], { timeoutMs: 15_000 });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/already running \(pid \d+\)/);

    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(join(town, 'run', 'node-agent.pid'))).toBe(false);
  });
});
