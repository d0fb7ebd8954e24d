/**
 * One SSH connection to a machine (ssh2): host key verified against the town's known_hosts,
 * keepalive on, failures classified, and one exec channel held open for the connection's life —
 * without an open session channel sshd leaves Nagle on for forwarded channels and every small
 * gRPC frame waits for a delayed ACK (~40 ms per call).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { GtError } from '../../proto/index.js';
import { classifySshError, type SshTarget } from './errors.js';
import { createHostKeyCheck } from './known-hosts.js';
import { remoteCommand } from './quote.js';

export interface SshConnectOptions {
  target: SshTarget;
  townRoot: string;
  /** Record the host key on first contact (never accepts a changed key). */
  acceptHostKey?: boolean;
  /** With acceptHostKey: only a key with this fingerprint (the one a user said yes to). */
  acceptFingerprint?: string;
  /** Defaults to ~/.ssh/known_hosts; `null` to consult only the town's file. */
  userKnownHosts?: string | null;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
  /** Hold one exec channel open (default true); off only to measure what it saves. */
  holdSession?: boolean;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number | null;
  signal: string | undefined;
  stdout: Buffer;
  stderr: string;
}

export interface ExecOptions {
  stdin?: Buffer | string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The private key to log in with: the given file, else the user's default keys. */
export function loadIdentity(identityFile: string | undefined): Buffer | undefined {
  if (identityFile !== undefined) return readFileSync(identityFile);
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const file = join(homedir(), '.ssh', name);
    if (existsSync(file)) return readFileSync(file);
  }
  return undefined;
}

/** How each exec channel ended (recorded as soon as the channel opens; see openExec). */
const exits = new WeakMap<ClientChannel, { code: number | null; signal: string | undefined }>();

export class SshConnection {
  private closedFlag = false;
  private held: ClientChannel | undefined;
  readonly closed: Promise<void>;

  private constructor(
    readonly client: Client,
    readonly target: SshTarget,
    /** The fingerprint of the host key, and whether this connection recorded it. */
    readonly hostKey: { fingerprint: string; keyType: string; recorded: boolean } | undefined,
  ) {
    this.closed = new Promise((resolve) =>
      client.once('close', () => {
        this.closedFlag = true;
        resolve();
      }),
    );
    // Errors after the handshake surface as 'close'; never as an unhandled 'error' event.
    client.on('error', () => undefined);
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  static async connect(options: SshConnectOptions): Promise<SshConnection> {
    const { target } = options;
    options.signal?.throwIfAborted();
    const check = createHostKeyCheck({
      townRoot: options.townRoot,
      host: target.hostKeyAlias ?? target.host,
      port: target.hostKeyAlias === undefined ? target.port : 22,
      accept: options.acceptHostKey === true,
      acceptFingerprint: options.acceptFingerprint,
      ...(options.userKnownHosts === undefined ? {} : { userKnownHosts: options.userKnownHosts }),
    });
    let privateKey: Buffer | undefined;
    try {
      privateKey = loadIdentity(target.identityFile);
    } catch (err) {
      throw new GtError(
        'GT_INVALID_ARGUMENT',
        `cannot read identity file ${target.identityFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        {
          hint: 'give a readable private key with --identity FILE (mode 0600, owned by you)',
          cause: err,
        },
      );
    }
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: options.readyTimeoutMs ?? 15_000,
      keepaliveInterval: options.keepaliveIntervalMs ?? 10_000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      hostVerifier: (key: Buffer) => check.verify(key),
      ...(check.serverHostKey === undefined
        ? {}
        : { algorithms: { serverHostKey: check.serverHostKey as never } }),
      ...(privateKey === undefined ? {} : { privateKey }),
      ...(process.env.SSH_AUTH_SOCK === undefined ? {} : { agent: process.env.SSH_AUTH_SOCK }),
    };
    const client = new Client();
    // ssh2 may emit more than one error while tearing down; the first one decides.
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        // destroy, not end: a hung peer never answers a polite close, and the socket would keep
        // this process alive until the ready timeout.
        client.destroy();
        reject(new GtError('GT_CANCELLED', `connecting to ${target.machine} was cancelled`));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (err?: unknown): void => {
        options.signal?.removeEventListener('abort', onAbort);
        client.removeListener('ready', onReady);
        client.removeListener('error', onError);
        client.removeListener('close', onClose);
        if (err === undefined) resolve();
        else {
          client.end();
          reject(check.refusal() ?? classifySshError(err, target));
        }
      };
      const onReady = (): void => done();
      const onError = (err: Error): void => done(err);
      const onClose = (): void =>
        done(
          Object.assign(new Error('connection closed during handshake'), { code: 'ECONNRESET' }),
        );
      client.once('ready', onReady);
      client.once('error', onError);
      client.once('close', onClose);
      try {
        client.connect(config);
      } catch (err) {
        done(err);
      }
    });
    const conn = new SshConnection(client, target, check.seen());
    if (options.holdSession !== false) await conn.holdSession();
    return conn;
  }

  /** Keep one exec channel open (a `cat` reading nothing); it ends with the connection. */
  private async holdSession(): Promise<void> {
    this.held = await this.openExec(['cat']);
    this.held.on('error', () => undefined);
    this.held.stderr.resume();
    this.held.resume();
  }

  /** Start a remote command (argv, quoted by remoteCommand) and return its channel. */
  openExec(argv: readonly string[]): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.exec(remoteCommand(argv), (err, channel) => {
        if (err) return reject(classifySshError(err, this.target));
        // A quick command's exit status can come in the same read as the channel's opening:
        // ssh2 emits it before a promise continuation could listen, so record it right here.
        channel.once('exit', (code: number | null, signal?: string) =>
          exits.set(channel, { code, signal }),
        );
        resolve(channel);
      });
    });
  }

  /** Run a remote command to completion, collecting its output. */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    options.signal?.throwIfAborted();
    const channel = await this.openExec(argv);
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      let err = '';
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        channel.close();
        finish(new GtError('GT_CANCELLED', `remote command ${argv[0]} was cancelled`));
      };
      const finish = (e?: GtError, r?: ExecResult): void => {
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (e !== undefined) reject(e);
        else if (r !== undefined) resolve(r);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          channel.close();
          finish(
            new GtError(
              'GT_SSH_TIMEOUT',
              `remote command ${argv[0]} on ${this.target.machine} did not finish within ${options.timeoutMs} ms`,
              { hint: `check the load on ${this.target.host}` },
            ),
          );
        }, options.timeoutMs);
      }
      channel.on('data', (b: Buffer) => out.push(b));
      channel.stderr.on('data', (b: Buffer) => (err += b.toString()));
      channel.on('close', () => {
        const exit = exits.get(channel);
        finish(undefined, {
          code: exit?.code ?? null,
          signal: exit?.signal,
          stdout: Buffer.concat(out),
          stderr: err,
        });
      });
      channel.on('error', (e: Error) => finish(classifySshError(e, this.target)));
      if (options.stdin !== undefined) channel.end(options.stdin);
      else channel.end();
    });
  }

  /**
   * Start a remote command (argv, quoted by remoteCommand) on a pseudo-terminal of the given size
   * (an interactive `tmux attach`); the channel is the terminal's both ways.
   */
  openPty(
    argv: readonly string[],
    size: { rows: number; cols: number; term?: string },
  ): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.exec(
        remoteCommand(argv),
        { pty: { rows: size.rows, cols: size.cols, term: size.term ?? 'xterm-256color' } },
        (err, channel) => (err ? reject(classifySshError(err, this.target)) : resolve(channel)),
      );
    });
  }

  /** A forwarded channel to a unix socket on the machine (OpenSSH stream-local forwarding). */
  openStreamLocal(socketPath: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.client.openssh_forwardOutStreamLocal(socketPath, (err, channel) =>
        err ? reject(err) : resolve(channel),
      );
    });
  }

  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.client.end();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    if (!this.closedFlag) this.client.destroy();
  }
}
