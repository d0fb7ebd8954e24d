/**
 * Reconnect delays: exponential backoff with full jitter (AWS architecture blog's "full jitter"),
 * capped; failures that a retry cannot fix soon (authentication, host key) wait much longer so a
 * bad key never hammers a host's sshd (and never trips fail2ban).
 */

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Delay after a failure a retry cannot fix by itself (auth, host key). */
  permanentMs?: number;
  /** Random source in [0, 1), replaceable in tests. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly permanentMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.permanentMs = options.permanentMs ?? 5 * 60_000;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt after a failure; `permanent` for auth/host-key failures. */
  next(permanent = false): number {
    this.attempt += 1;
    if (permanent) return this.permanentMs;
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt - 1, 30));
    // Full jitter, but never below a tenth of the ceiling: no tight loop even on unlucky draws.
    return Math.round(ceiling / 10 + this.random() * ceiling * 0.9);
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
