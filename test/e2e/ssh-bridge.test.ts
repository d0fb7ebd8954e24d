// gRPC to a real node agent (the built gt-node-agent on its owner-only unix socket) through a
// real sshd on loopback: via forwarded stream-local channels, and via the exec'd stdio bridge
// where sshd forbids stream-local forwarding. The connection says which mode it uses.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectSshMachine, remoteLayout } from '../../coordinator/ssh/machine.js';
import { PROTOCOL_VERSION } from '../../proto/index.js';
import { REPO_ROOT, gt } from '../helpers/cli.js';
import { startSshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';

const AGENT = join(REPO_ROOT, 'dist', 'node-agent', 'main.js');

async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A "remote" town with its node agent running, and .gt/current/node pointing at this node. */
async function remoteTown(base: string): Promise<string> {
  const town = join(base, 'remote-town');
  expect((await gt(['install', town])).code).toBe(0);
  const layout = remoteLayout(town);
  mkdirSync(layout.current, { recursive: true });
  symlinkSync(process.execPath, layout.node);
  const child = spawn(process.execPath, [AGENT, '--town', town, '--machine', 'm1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitFor(() => existsSync(layout.socket) && stderr.includes('node agent serving'));
  return town;
}

describe.each([
  { mode: 'stream-local', extraConfig: [] },
  { mode: 'stdio-exec', extraConfig: ['AllowStreamLocalForwarding no'] },
])('node agent through the ssh tunnel ($mode)', ({ mode, extraConfig }) => {
  it('handshakes and answers unary calls; the local socket is owner-only under run/', async () => {
    const base = tempDir('gt-br-');
    const sshd = await startSshd(join(base, 'sshd'), { extraConfig });
    onTestFinished(() => sshd.stop());
    const remote = await remoteTown(base);
    const coordTown = join(base, 'town');
    mkdirSync(join(coordTown, 'config'), { recursive: true });

    const conn = await connectSshMachine(
      'm1',
      {
        type: 'ssh',
        host: '127.0.0.1',
        port: sshd.port,
        user: 'root',
        identity_file: sshd.clientKey,
        town_path: remote,
      },
      { townRoot: coordTown, userKnownHosts: sshd.knownHosts },
    );
    onTestFinished(() => conn.close());
    expect(conn.transport).toBe(mode);

    const hello = await conn.client.handshake({
      coordinatorVersion: 'test',
      protocolVersion: PROTOCOL_VERSION,
      machine: 'm1',
    });
    expect(hello).toMatchObject({ protocolVersion: PROTOCOL_VERSION, townRoot: remote });
    expect((await conn.client.listRigs({})).rigs).toEqual([]);
    // Several calls in flight at once share the tunnel.
    const many = await Promise.all(Array.from({ length: 5 }, () => conn.client.listRigs({})));
    expect(many.map((r) => r.rigs.length)).toEqual([0, 0, 0, 0, 0]);

    const dir = join(coordTown, 'run', 'ssh', 'm1');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, `agent-${process.pid}.sock`)).mode & 0o777).toBe(0o600);
    await conn.close();
    expect(existsSync(join(dir, `agent-${process.pid}.sock`))).toBe(false);
  });
});
