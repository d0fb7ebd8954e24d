/**
 * The doctor's look at an ssh machine from the outside, over its own SSH connection (so it works
 * when the node agent does not): can we log in, is the host key the one we know, is the agent
 * service (supervisor + socket) running, how much disk is free under the town path. With `fix`,
 * a stopped service is started again from `.gt/current` and checked once more.
 */
import { GtError, errorMessage } from '../../proto/index.js';
import type { Machine } from '../federation.js';
import { SshConnection } from './connection.js';
import { sshTargetOf } from './machine.js';
import { probePlatform, restartAgent, type Platform } from './provision.js';

type SshMachine = Extract<Machine, { type: 'ssh' }>;

export interface ServiceCheckOptions {
  townRoot: string;
  name: string;
  machine: SshMachine;
  fix: boolean;
  signal: AbortSignal;
  /** Time the restarted service gets to open its socket (default 15 s). */
  startTimeoutMs?: number;
  /** The name the host key is known by (a gcp instance: `compute.<id>`). */
  hostKeyAlias?: string;
  /** Defaults to ~/.ssh/known_hosts; `null` to consult only the town's file. */
  userKnownHosts?: string | null;
}

export interface ServiceCheckResult {
  hostKey: { fingerprint: string; keyType: string } | undefined;
  platform: Platform;
  /** The service was found stopped and started again (fix). */
  restarted: boolean;
  /** Why a restart did not bring it up. */
  restartError?: string;
}

export async function checkAgentService(options: ServiceCheckOptions): Promise<ServiceCheckResult> {
  const { name, machine, signal } = options;
  const conn = await SshConnection.connect({
    target: {
      ...sshTargetOf(name, machine),
      ...(options.hostKeyAlias === undefined ? {} : { hostKeyAlias: options.hostKeyAlias }),
    },
    townRoot: options.townRoot,
    ...(options.userKnownHosts === undefined ? {} : { userKnownHosts: options.userKnownHosts }),
    signal,
  });
  const onAbort = (): void => void conn.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const hostKey =
      conn.hostKey === undefined
        ? undefined
        : { fingerprint: conn.hostKey.fingerprint, keyType: conn.hostKey.keyType };
    let platform = await probePlatform(conn, machine.town_path, '');
    if (platform.agentRunning || !options.fix || platform.current === undefined)
      return { hostKey, platform, restarted: false };
    try {
      await restartAgent(conn, machine.town_path, name);
      const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
      for (;;) {
        platform = await probePlatform(conn, machine.town_path, '');
        if (platform.agentRunning || Date.now() > deadline || signal.aborted) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    } catch (err) {
      return { hostKey, platform, restarted: false, restartError: errorMessage(err) };
    }
    return platform.agentRunning
      ? { hostKey, platform, restarted: true }
      : {
          hostKey,
          platform,
          restarted: false,
          restartError: 'started, but its socket did not appear',
        };
  } finally {
    signal.removeEventListener('abort', onAbort);
    await conn.close();
  }
}

export function isHostKeyError(err: unknown): boolean {
  return (
    err instanceof GtError &&
    (err.code === 'GT_HOST_KEY_CHANGED' || err.code === 'GT_HOST_KEY_UNKNOWN')
  );
}
