// When the SSH side of a machine's bridge fails, a call through it says why in the SSH failure's
// own words (refused, timed out, host key …), still as an unreachable machine — not "cannot reach
// <the bridge's local socket>", which is all gRPC itself can know. Real gRPC over the bridge's
// real unix socket; the SSH link is a stand-in that fails as a refused connection does.
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AgentBridge } from '../../coordinator/ssh/bridge.js';
import type { SshLink } from '../../coordinator/ssh/link.js';
import { explainedByBridge } from '../../coordinator/ssh/machine.js';
import { GT_VERSION, GtError, NodeAgent, loadGrpc } from '../../proto/index.js';
import { tempDir } from '../helpers/tmp.js';

async function failure(p: Promise<unknown>): Promise<GtError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(GtError);
  return e as GtError;
}

describe('a bridge whose SSH link fails', () => {
  it('explains a failed call with the SSH failure, as an unreachable machine', async () => {
    const refused = new GtError(
      'GT_SSH_REFUSED',
      'machine "far" (root@127.0.0.1:1): connection refused',
      { hint: 'is sshd running on 127.0.0.1 port 1?' },
    );
    const link = { machine: 'far', get: () => Promise.reject(refused) } as unknown as SshLink;
    const bridge = new AgentBridge({
      link,
      localDir: join(tempDir('gt-bf-'), 'run', 'ssh', 'far'),
      remoteSocket: '/srv/gastown/run/node-agent.sock',
      remoteNode: '/srv/gastown/.gt/current/node',
    });
    await bridge.start();
    onTestFinished(() => bridge.close());
    const grpc = await loadGrpc();
    const { client, close } = grpc.connectUnix(NodeAgent, bridge.socketPath);
    onTestFinished(() => close());
    const hello = {
      coordinatorVersion: GT_VERSION,
      protocolVersion: 1,
      machine: 'far',
    };

    const raw = await failure(client.handshake(hello, { timeoutMs: 5_000 }));
    expect(raw.code).toBe('GT_MACHINE_UNREACHABLE');
    expect(raw.message).toContain(bridge.socketPath);
    expect(bridge.failure).toBe(refused);

    const explained = await failure(
      explainedByBridge(client, bridge).handshake(hello, { timeoutMs: 5_000 }),
    );
    expect(explained.code).toBe('GT_MACHINE_UNREACHABLE');
    expect(explained.message).toBe('machine "far" (root@127.0.0.1:1): connection refused');
    expect(explained.hint).toBe('is sshd running on 127.0.0.1 port 1?');
  });
});
