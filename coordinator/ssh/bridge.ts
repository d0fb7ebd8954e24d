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
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { GtError, checkSocketPath, errorMessage, socketPathFits } from '../../proto/index.js';
import type { SshLink } from './link.js';

export type BridgeMode = 'stream-local' | 'stdio-exec';

/** Run by the machine's node binary (`node -e SCRIPT SOCKET`): stdin/stdout <-> the socket. */
export const STDIO_BRIDGE_SCRIPT =
  "const s=require('net').connect(process.argv[1]);" +
  "s.on('error',e=>{process.stderr.write('gt-bridge: '+e.message+'\\n');process.exit(1)});" +
  "s.on('close',()=>process.exit(0));process.stdin.pipe(s);s.pipe(process.stdout);";

/** Exits 0 when something accepts connections on the socket. */
const CONNECT_CHECK_SCRIPT =
  "require('net').connect(process.argv[1]).on('connect',function(){this.destroy();process.exit(0)}).on('error',()=>process.exit(1));";

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

/**
 * The bridge's local socket: `<localDir>/agent-<pid>.sock`, or, where that is over the unix
 * socket limit (a long town path, a long machine name), a short hashed name beside localDir
 * (still under the town's owner-only run/ssh).
 */
export function bridgeSocketPath(localDir: string, pid: number): string {
  const plain = join(localDir, `agent-${pid}.sock`);
  if (socketPathFits(plain)) return plain;
  const hash = createHash('sha256').update(`${localDir}\0${pid}`).digest('hex').slice(0, 10);
  return join(dirname(localDir), `${hash}.sock`);
}

export class AgentBridge {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private modeValue: BridgeMode | undefined;
  private lastFailure: GtError | undefined;
  readonly socketPath: string;

  constructor(private readonly options: AgentBridgeOptions) {
    this.socketPath = bridgeSocketPath(options.localDir, process.pid);
    this.modeValue = options.forceMode;
  }

  /**
   * Why the last connection through the bridge could not reach the agent (the SSH failure:
   * refused, timed out, host key, …), until one gets through again. gRPC itself only sees its
   * local socket closed, and would say "cannot reach <local socket>".
   */
  get failure(): GtError | undefined {
    return this.lastFailure;
  }

  /** Which way the tunnel runs (known after the first probe or accepted socket). */
  get mode(): BridgeMode | undefined {
    return this.modeValue;
  }

  async start(): Promise<void> {
    checkSocketPath(this.socketPath);
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
      // The agent accepts connections from the machine itself (not just a socket file left
      // behind), and stream-local still fails once more: then forwarding is forbidden.
      const accepting =
        (
          await conn.exec([this.options.remoteNode, '-e', CONNECT_CHECK_SCRIPT, remoteSocket], {
            timeoutMs: 15_000,
          })
        ).code === 0;
      if (accepting) {
        const retried = await conn.openStreamLocal(remoteSocket).catch(() => undefined);
        if (retried !== undefined) {
          this.modeValue = 'stream-local';
          return retried;
        }
      }
      if (!accepting || this.modeValue === 'stream-local') {
        const machine = this.options.link.machine;
        throw new GtError(
          'GT_MACHINE_UNREACHABLE',
          `machine "${machine}": the node agent socket ${remoteSocket} ${accepting ? 'refused the forwarded connection' : 'does not accept connections'} (${errorMessage(refusal)})`,
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
      this.lastFailure =
        err instanceof GtError
          ? err
          : new GtError(
              'GT_MACHINE_UNREACHABLE',
              `machine "${this.options.link.machine}": ${errorMessage(err)}`,
              { cause: err },
            );
      this.options.onError?.(err);
      local.destroy();
      return;
    }
    this.lastFailure = undefined;
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
