/**
 * GtError: the one error type that crosses every boundary of Gas Town (library → CLI, node agent →
 * gRPC → coordinator → CLI). It carries a stable `code`, a message that says what happened, and a
 * `hint` that says what to do. The gRPC adapter maps it onto status + `gt-error-*` metadata and
 * rebuilds it on the client side, so the user sees the same error in embedded and daemon mode.
 */

/** Stable error codes. Add new ones here; never rename one (scripts match on them). */
export type GtErrorCode =
  | 'GT_USAGE'
  | 'GT_INTERNAL'
  | 'GT_NOT_FOUND'
  | 'GT_ALREADY_EXISTS'
  | 'GT_INVALID_ADDRESS'
  | 'GT_INVALID_ARGUMENT'
  | 'GT_CONFIG_INVALID'
  | 'GT_CONFIG_MISSING'
  | 'GT_NOT_A_TOWN'
  | 'GT_TOWN_EXISTS'
  | 'GT_DIR_NOT_EMPTY'
  | 'GT_NOT_WRITABLE'
  | 'GT_RIG_EXISTS'
  | 'GT_RIG_NOT_FOUND'
  | 'GT_AGENT_NOT_FOUND'
  | 'GT_GIT_FAILED'
  | 'GT_TMUX_FAILED'
  | 'GT_AGENT_BLOCKED'
  | 'GT_LOCK_TIMEOUT'
  | 'GT_DAEMON_RUNNING'
  | 'GT_DAEMON_NOT_RUNNING'
  | 'GT_DAEMON_FAILED'
  | 'GT_MACHINE_UNKNOWN'
  | 'GT_MACHINE_UNREACHABLE'
  | 'GT_VERSION_SKEW'
  | 'GT_NOT_IMPLEMENTED'
  | 'GT_CLAIMED'
  | 'GT_CONFLICT'
  | 'GT_DIRTY'
  | 'GT_TIMEOUT'
  | 'GT_CANCELLED'
  | 'GT_SOCKET_PATH_TOO_LONG'
  | 'GT_BEADS'
  | 'GT_DISK_FULL'
  | 'GT_HOST_KEY_UNKNOWN'
  | 'GT_HOST_KEY_CHANGED'
  | 'GT_SSH_AUTH_FAILED'
  | 'GT_SSH_REFUSED'
  | 'GT_SSH_TIMEOUT'
  | 'GT_SSH_CHANNEL_REFUSED'
  | 'GT_PROVISION_FAILED'
  | 'GT_MACHINE_STOPPED'
  | 'GT_MACHINE_DISCONNECTED'
  | 'GT_MACHINE_LOST'
  | 'GT_GCP_CREDENTIALS'
  | 'GT_GCP_DENIED'
  | 'GT_GCP_QUOTA'
  | 'GT_GCP_FAILED'
  | 'GT_COORDINATOR_UNREACHABLE'
  | 'GT_NOT_RELAYABLE'
  | 'GT_ORIGIN_UNREACHABLE';

export interface GtErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
  /** Extra structured detail (e.g. candidate ids); must be JSON-serialisable. */
  details?: Record<string, unknown> | undefined;
}

export class GtError extends Error {
  override readonly name = 'GtError';
  readonly code: GtErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: GtErrorCode, message: string, options: GtErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  toJSON(): {
    code: GtErrorCode;
    message: string;
    hint?: string;
    details?: Record<string, unknown>;
  } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isGtError(err: unknown): err is GtError {
  return err instanceof GtError;
}

/** The message of any thrown value, for wrapping into a GtError's text. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * A full filesystem: errno ENOSPC (no blocks or inodes left) or EDQUOT (user quota), or SQLite's
 * SQLITE_FULL (the beads database).
 */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

/** What to do when a write failed for lack of space (one wording everywhere). */
export const DISK_FULL_HINT =
  'free space on that filesystem: `gt doctor --fix` empties the logs under run/ and removes idle polecats whose clones hold nothing unsaved; `gt doctor` shows what is free';

/** GT_DISK_FULL for a write of `file` that failed with ENOSPC/EDQUOT. `what` says more (e.g. "the lock of …"). */
export function diskFullError(file: string, cause: unknown, what?: string): GtError {
  const quota = (cause as { code?: unknown } | null)?.code === 'EDQUOT';
  return new GtError(
    'GT_DISK_FULL',
    `${quota ? 'disk quota exceeded' : 'disk full'}: could not write ${file}${what === undefined ? '' : ` (${what})`}`,
    { hint: DISK_FULL_HINT, cause },
  );
}

/** A failed write of `file`: GT_DISK_FULL when it was for lack of space, else the error as is. */
export function writeFailure(file: string, err: unknown, what?: string): unknown {
  return isDiskFull(err) && !(err instanceof GtError) ? diskFullError(file, err, what) : err;
}
