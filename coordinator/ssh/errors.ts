/**
 * SSH failures, classified: every error that leaves coordinator/ssh/ is a GtError whose code
 * says which kind (authentication, host key, refused, timeout, unreachable, channel refused) and
 * whose hint says what to do. Raw ssh2 / socket errors are kept as `cause`.
 */
import { GtError, errorMessage } from '../../proto/index.js';

export interface SshTarget {
  machine: string;
  user: string;
  host: string;
  port: number;
  identityFile?: string | undefined;
  /**
   * The name the host key is known by instead of host:port (OpenSSH's HostKeyAlias): a gcp
   * instance keeps its host key but gets a new address after a stop/start (`compute.<id>`).
   */
  hostKeyAlias?: string | undefined;
}

function where(t: SshTarget): string {
  return `${t.user}@${t.host}:${t.port}`;
}

/** Codes a reconnect loop must not retry quickly: a retry cannot fix them. */
export function isPermanentSshFailure(err: unknown): boolean {
  return (
    err instanceof GtError &&
    (err.code === 'GT_SSH_AUTH_FAILED' ||
      err.code === 'GT_HOST_KEY_CHANGED' ||
      err.code === 'GT_HOST_KEY_UNKNOWN')
  );
}

/** Turn an ssh2 / socket error into the GtError the user sees. */
export function classifySshError(err: unknown, t: SshTarget): GtError {
  if (err instanceof GtError) return err;
  const e = err as { level?: string; code?: string; reason?: unknown; message?: string };
  const msg = errorMessage(err);
  const m = `machine "${t.machine}" (${where(t)})`;
  if (e.level === 'client-authentication') {
    return new GtError('GT_SSH_AUTH_FAILED', `${m}: authentication failed (${msg})`, {
      hint:
        t.identityFile === undefined
          ? `give the key that logs in as ${t.user} with --identity FILE, or add your public key to ~${t.user}/.ssh/authorized_keys on ${t.host}`
          : `check that ${t.identityFile}.pub is in ~${t.user}/.ssh/authorized_keys on ${t.host} (\`ssh-copy-id -i ${t.identityFile} -p ${t.port} ${t.user}@${t.host}\`)`,
      cause: err,
    });
  }
  if (e.code === 'ECONNREFUSED') {
    return new GtError(
      'GT_SSH_REFUSED',
      `${m}: connection refused (nothing listens on port ${t.port})`,
      {
        hint: `check that sshd runs on ${t.host} and listens on port ${t.port} (\`systemctl status ssh\` there)`,
        cause: err,
      },
    );
  }
  if (e.level === 'client-timeout' || e.code === 'ETIMEDOUT') {
    return new GtError('GT_SSH_TIMEOUT', `${m}: timed out (${msg})`, {
      hint: `check that ${t.host} is up and not overloaded; a firewall dropping port ${t.port} also looks like this`,
      cause: err,
    });
  }
  if (
    e.level === 'client-dns' ||
    ['EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE'].includes(
      e.code ?? '',
    )
  ) {
    return new GtError('GT_MACHINE_UNREACHABLE', `${m}: unreachable (${e.code ?? msg})`, {
      hint: `check the address and that ${t.host} is up and reachable from here`,
      cause: err,
    });
  }
  if (msg.startsWith('(SSH) Channel open failure')) {
    return new GtError('GT_SSH_CHANNEL_REFUSED', `${m}: sshd refused a channel (${msg})`, {
      hint: `sshd on ${t.host} limits channels (MaxSessions) or forbids forwarding (AllowStreamLocalForwarding); check /etc/ssh/sshd_config there`,
      cause: err,
    });
  }
  return new GtError('GT_MACHINE_UNREACHABLE', `${m}: ssh failed (${msg})`, {
    hint: `try \`ssh -p ${t.port} ${t.user}@${t.host}\` to see what sshd says`,
    cause: err,
  });
}
