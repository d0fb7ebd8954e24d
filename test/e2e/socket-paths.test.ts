// Unix socket paths over the 107-byte limit (Node would cut them silently and bind another
// file): gt install and gt machine add --town-path refuse such a town path with exit 2 naming the
// limit and the fix; a town reached through a path too long for its sockets gets that error from
// gt up and from tmux at once; the SSH bridge's socket takes a short name when its usual one
// would not fit, and serves there.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AgentBridge, bridgeSocketPath } from '../../coordinator/ssh/bridge.js';
import type { SshLink } from '../../coordinator/ssh/link.js';
import { TmuxServer } from '../../node-agent/tmux/index.js';
import {
  GtError,
  MAX_SOCKET_PATH_BYTES,
  MAX_TOWN_ROOT_BYTES,
  loadGrpc,
} from '../../proto/index.js';
import { gt } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** A directory under `base` whose path is exactly `bytes` long. */
function dirOfLength(base: string, bytes: number): string {
  const name = 'd'.repeat(bytes - base.length - 1);
  const dir = join(base, name);
  expect(Buffer.byteLength(dir)).toBe(bytes);
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<GtError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(GtError);
  return e as GtError;
}

describe('long unix socket paths', () => {
  it('gt install refuses a town path too long for its sockets, naming the limit and the fix; one byte shorter works', async () => {
    const base = tempDir('gt-sp-');
    const long = dirOfLength(base, MAX_TOWN_ROOT_BYTES + 1);
    const refused = await gt(['install', long]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`is ${MAX_TOWN_ROOT_BYTES + 1} bytes`);
    expect(refused.stderr).toContain(`${MAX_SOCKET_PATH_BYTES}-byte limit of a unix socket path`);
    expect(refused.stderr).toMatch(/^hint: install it at a shorter path/m);
    expect(existsSync(long)).toBe(false);
    const fits = dirOfLength(base, MAX_TOWN_ROOT_BYTES);
    expect((await gt(['install', fits, '--name', 'fits'])).code).toBe(0);
  });

  it('gt machine add refuses a --town-path too long for the machine’s sockets, writing nothing', async () => {
    const town = join(tempDir('gt-sp-'), 'town');
    expect((await gt(['install', town])).code).toBe(0);
    const fed = join(town, 'config', 'federation.json');
    const before = readFileSync(fed, 'utf8');
    const townPath = `/srv/${'g'.repeat(MAX_TOWN_ROOT_BYTES)}`;
    const r = await gt(
      ['machine', 'add', 'far', '--ssh', 'root@127.0.0.1:1', '--town-path', townPath],
      {
        env: { GT_TOWN: town },
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`over the ${MAX_SOCKET_PATH_BYTES}-byte limit`);
    expect(r.stderr).toMatch(/^hint: choose a shorter --town-path/m);
    expect(readFileSync(fed, 'utf8')).toBe(before);
  });

  it('a town reached through a path too long for its sockets: gt up, tmux and any socket server say so at once', async () => {
    const base = tempDir('gt-sp-');
    const town = join(base, 'town');
    expect((await gt(['install', town])).code).toBe(0);
    const far = dirOfLength(base, 100);
    mkdirSync(far);
    const via = join(far, 't'); // a symlink to the town, its path 102 bytes
    symlinkSync(town, via);
    const up = await gt(['up'], { env: { GT_TOWN: via } });
    expect(up.code).toBe(1);
    expect(up.stderr).toContain(`${join(via, 'run', 'coordinator.sock')} is 123 bytes`);
    expect(up.stderr).toMatch(/^hint: use a town whose path is at most 86 bytes/m);
    expect(existsSync(join(town, 'run', 'coordinator.pid'))).toBe(false);

    const tmux = TmuxServer.forTown(via);
    const tmuxErr = await rejection(tmux.listSessions());
    expect(tmuxErr.code).toBe('GT_SOCKET_PATH_TOO_LONG');

    const grpc = await loadGrpc();
    const socketPath = join(via, 'run', 'node-agent.sock');
    const served = await rejection(grpc.serveUnix({ socketPath, services: [] }));
    expect(served.code).toBe('GT_SOCKET_PATH_TOO_LONG');
    // Nothing was bound at a cut-off path either: no socket anywhere in the town's run/.
    const run = join(town, 'run');
    expect(readdirSync(run).filter((f) => statSync(join(run, f)).isSocket())).toEqual([]);
  });

  it('the ssh bridge takes a short socket name when its own would not fit, and serves there', async () => {
    const base = tempDir('gt-sp-');
    const short = join(base, 'run', 'ssh', 'm1');
    expect(bridgeSocketPath(short, 42)).toBe(join(short, 'agent-42.sock'));
    const localDir = join(dirOfLength(base, 70), 'run', 'ssh', 'a-machine-with-a-long-name');
    const path = bridgeSocketPath(localDir, process.pid);
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
    expect(dirname(path)).toBe(dirname(localDir));
    const bridge = new AgentBridge({
      link: {} as SshLink, // start() only listens locally
      localDir,
      remoteSocket: '/nowhere/node-agent.sock',
      remoteNode: '/nowhere/node',
    });
    onTestFinished(() => bridge.close());
    await bridge.start();
    expect(bridge.socketPath).toBe(path);
    await new Promise<void>((resolve, reject) => {
      const s = connect(path, () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
  });
});
