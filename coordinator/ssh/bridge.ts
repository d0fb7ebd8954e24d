/**
 * The agent bridge: gRPC reaches a remote node agent's owner-only unix socket through the SSH
 * link. Locally a per-process unix socket in an owner-only directory under the town's run/ (never
 * /tmp); every socket it accepts gets its own forwarded stream-local channel to the remote socket
 * (those are not capped by sshd's MaxSessions). Where the host forbids stream-local forwarding
 * (`AllowStreamLocalForwarding no`), each accepted socket runs a tiny stdio bridge instead: the
 * machine's node binary, with a script given inline, pipes the exec channel to the socket.
 * No TCP port is opened anywhere.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { GtError, errorMessage } from '../../proto/index.js';
import type { SshLink } from './link.js';

export type BridgeMode = 'stream-local' | 'stdio-exec';

/** Run by the machine's node binary (`node -e SCRIPT SOCKET`): stdin/stdout <-> the socket. */
export const STDIO_BRIDGE_SCRIPT =
  "const s=require('net').connect(process.argv[1]);" +
  "s.on('error',e=>{process.stderr.write('gt-bridge: '+e.message+'\\n');process.exit(1)});" +
  "s.on('close',()=>process.exit(0));process.stdin.pipe(s);s.pipe(process.stdout);";

export interface AgentBridgeOptions {
  link: SshLink;
  /** Owner-only directory for the local socket (created 0700), e.g. <town>/run/ssh/<machine>. */
  localDir: string;
  /** The node agent's socket on the machine. */
  remoteSocket: string;
  /** The node binary on the machine, for the stdio fallback. */
  remoteNode: string;
  /** Skip stream-local and always use the stdio bridge (tests and benches). */
  forceMode?: BridgeMode;
  onError?: (err: unknown) => void;
}

export class AgentBridge {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private modeValue: BridgeMode | undefined;
  readonly socketPath: string;

  constructor(private readonly options: AgentBridgeOptions) {
    this.socketPath = join(options.localDir, `agent-${process.pid}.sock`);
    this.modeValue = options.forceMode;
  }

  /** Which way the tunnel runs (known after the first probe or accepted socket). */
  get mode(): BridgeMode | undefined {
    return this.modeValue;
  }

  async start(): Promise<void> {
    mkdirSync(this.options.localDir, { recursive: true, mode: 0o700 });
    chmodSync(this.options.localDir, 0o700);
    rmSync(this.socketPath, { force: true });
    const server = createServer((sock) => void this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    chmodSync(this.socketPath, 0o600);
    this.server = server;
  }

  /**
   * Find out whether sshd allows stream-local forwarding: open one channel to the agent's socket.
   * sshd answers a forbidden forward and a missing socket alike ("open failed"), so on a refusal
   * an exec'd `test -S` tells them apart: the socket is there → forwarding is forbidden → use the
   * stdio bridge. With no socket (agent not running) the mode stays undecided.
   */
  async probe(): Promise<BridgeMode | undefined> {
    if (this.modeValue !== undefined) return this.modeValue;
    try {
      (await this.openRemote()).destroy();
    } catch {
      /* agent not running: decided on the first call that finds it */
    }
    return this.modeValue;
  }

  private async openRemote(): Promise<Duplex> {
    const conn = await this.options.link.get();
    const { remoteSocket } = this.options;
    if (this.modeValue !== 'stdio-exec') {
      let refusal: unknown;
      try {
        const ch = await conn.openStreamLocal(remoteSocket);
        this.modeValue = 'stream-local';
        return ch;
      } catch (err) {
        refusal = err;
      }
      const socketThere =
        (await conn.exec(['test', '-S', remoteSocket], { timeoutMs: 15_000 })).code === 0;
      if (!socketThere || this.modeValue === 'stream-local') {
        const machine = this.options.link.machine;
        throw new GtError(
          'GT_MACHINE_UNREACHABLE',
          `machine "${machine}": the node agent socket ${remoteSocket} ${socketThere ? 'refused the connection' : 'does not exist'} (${errorMessage(refusal)})`,
          {
            hint: `check that the node agent runs there: \`gt machine provision ${machine}\` installs and starts it`,
            cause: refusal,
          },
        );
      }
      this.modeValue = 'stdio-exec';
    }
    const ch = await conn.openExec([
      this.options.remoteNode,
      '-e',
      STDIO_BRIDGE_SCRIPT,
      remoteSocket,
    ]);
    ch.stderr.resume();
    return ch;
  }

  private async accept(local: Socket): Promise<void> {
    this.sockets.add(local);
    local.once('close', () => this.sockets.delete(local));
    local.on('error', () => undefined);
    local.pause();
    let remote: Duplex;
    try {
      remote = await this.openRemote();
    } catch (err) {
      this.options.onError?.(err);
      local.destroy();
      return;
    }
    if (local.destroyed) {
      remote.destroy();
      return;
    }
    remote.on('error', () => local.destroy());
    remote.once('close', () => local.destroy());
    local.once('close', () => remote.destroy());
    local.pipe(remote);
    remote.pipe(local);
    local.resume();
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server !== undefined) await new Promise((r) => server.close(r));
    rmSync(this.socketPath, { force: true });
  }
}
