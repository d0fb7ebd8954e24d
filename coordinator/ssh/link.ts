/**
 * The coordinator's link to one machine: the current SshConnection, dialled on demand and
 * re-dialled after it drops, with exponential backoff + jitter between failed attempts. Between
 * attempts a caller gets the last failure at once (no tight reconnect loop); after an
 * authentication or host key failure the next attempt waits minutes, not seconds.
 */
import { Backoff, type BackoffOptions } from './backoff.js';
import { SshConnection, type SshConnectOptions } from './connection.js';
import { isPermanentSshFailure, type SshTarget } from './errors.js';

export interface SshLinkOptions extends Omit<SshConnectOptions, 'signal'> {
  backoff?: BackoffOptions;
  /**
   * Looked up before every dial (a gcp instance's address changes after a stop/start): its answer
   * replaces the target's fields; its error is the dial's error.
   */
  resolveTarget?: (signal: AbortSignal) => Promise<Partial<SshTarget>>;
}

export class SshLink {
  private current: SshConnection | undefined;
  private dialing: Promise<SshConnection> | undefined;
  private lastError: unknown;
  private notBefore = 0;
  private closedFlag = false;
  private readonly backoff: Backoff;
  /** Aborted by close(): a dial in flight is dropped at once (a hung host never answers). */
  private readonly closing = new AbortController();
  private readonly listeners = new Set<(conn: SshConnection) => void>();

  constructor(private readonly options: SshLinkOptions) {
    this.backoff = new Backoff(options.backoff);
  }

  get machine(): string {
    return this.options.target.machine;
  }

  /** The connection if one is up now (no dialling). */
  peek(): SshConnection | undefined {
    return this.current !== undefined && !this.current.isClosed ? this.current : undefined;
  }

  /** Called with every newly established connection. */
  onConnect(fn: (conn: SshConnection) => void): void {
    this.listeners.add(fn);
  }

  /** The live connection, dialling if there is none (unless the backoff says wait). */
  async get(): Promise<SshConnection> {
    const live = this.peek();
    if (live !== undefined) return live;
    if (this.closedFlag) throw new Error(`the link to ${this.machine} is closed`);
    if (this.dialing !== undefined) return this.dialing;
    if (Date.now() < this.notBefore) throw this.lastError;
    this.dialing = this.dial().then(
      (conn) => {
        this.dialing = undefined;
        if (this.closedFlag) {
          void conn.close();
          throw new Error(`the link to ${this.machine} is closed`);
        }
        this.current = conn;
        this.backoff.reset();
        this.lastError = undefined;
        // After the first contact the key is in the town's known_hosts: never accept again.
        this.options.acceptHostKey = false;
        for (const fn of this.listeners) fn(conn);
        return conn;
      },
      (err: unknown) => {
        this.dialing = undefined;
        this.lastError = err;
        this.notBefore = Date.now() + this.backoff.next(isPermanentSshFailure(err));
        throw err;
      },
    );
    return this.dialing;
  }

  private async dial(): Promise<SshConnection> {
    const { resolveTarget } = this.options;
    if (resolveTarget !== undefined)
      this.options.target = {
        ...this.options.target,
        ...(await resolveTarget(this.closing.signal)),
      };
    return SshConnection.connect({ ...this.options, signal: this.closing.signal });
  }

  /** Forget the backoff (an operator asked to retry now). */
  retryNow(): void {
    this.notBefore = 0;
  }

  async close(): Promise<void> {
    this.closedFlag = true;
    this.closing.abort();
    const conn = this.current ?? (await this.dialing?.catch(() => undefined));
    this.current = undefined;
    await conn?.close();
  }
}
