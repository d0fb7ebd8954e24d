/**
 * The `ssh` ConnectionFactory of the machine registry: an SshLink (reconnecting, host key
 * verified), an AgentBridge to the node agent's socket under the machine's town path, and a gRPC
 * client on the bridge's local socket. The gRPC channel outlives SSH reconnects: when the link
 * drops, the next call's new local socket dials SSH again.
 */
import { join } from 'node:path';
import { GtError, NodeAgent, loadGrpc } from '../../proto/index.js';
import type { Machine } from '../federation.js';
import type { ConnectionFactory, MachineConnection } from '../machines.js';
import { AgentBridge, type BridgeMode } from './bridge.js';
import type { SshTarget } from './errors.js';
import { SshLink } from './link.js';

type SshMachine = Extract<Machine, { type: 'ssh' }>;

/** Where things live on a machine, relative to its town path. */
export function remoteLayout(townPath: string): {
  socket: string;
  gtDir: string;
  versions: string;
  current: string;
  node: string;
} {
  const gtDir = join(townPath, '.gt');
  return {
    socket: join(townPath, 'run', 'node-agent.sock'),
    gtDir,
    versions: join(gtDir, 'versions'),
    current: join(gtDir, 'current'),
    node: join(gtDir, 'current', 'node'),
  };
}

export interface SshMachineConnection extends MachineConnection {
  readonly link: SshLink;
  /** How gRPC reaches the agent: forwarded stream-local channels or the stdio bridge. */
  readonly transport: BridgeMode | undefined;
}

export interface SshFactoryOptions {
  townRoot: string;
  acceptHostKey?: boolean;
  userKnownHosts?: string | null;
  onError?: (machine: string, err: unknown) => void;
}

/** How to reach an ssh machine of config/federation.json (every SSH dial to one starts here). */
export function sshTargetOf(
  name: string,
  machine: Pick<SshMachine, 'user' | 'host' | 'port' | 'identity_file'>,
): SshTarget {
  return {
    machine: name,
    user: machine.user,
    host: machine.host,
    port: machine.port,
    identityFile: machine.identity_file,
  };
}

export function sshLinkFor(name: string, machine: SshMachine, options: SshFactoryOptions): SshLink {
  return new SshLink({
    target: sshTargetOf(name, machine),
    townRoot: options.townRoot,
    ...(options.acceptHostKey === undefined ? {} : { acceptHostKey: options.acceptHostKey }),
    ...(options.userKnownHosts === undefined ? {} : { userKnownHosts: options.userKnownHosts }),
  });
}

/** Connect to an ssh machine's node agent (the link must be new or owned by the caller). */
export async function connectSshMachine(
  name: string,
  machine: SshMachine,
  options: SshFactoryOptions & { link?: SshLink; signal?: AbortSignal },
): Promise<SshMachineConnection> {
  const link = options.link ?? sshLinkFor(name, machine, options);
  // Given up on (the registry closed while dialling): drop the link and the dial in flight.
  const onAbort = (): void => void link.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const layout = remoteLayout(machine.town_path);
  const bridge = new AgentBridge({
    link,
    localDir: join(options.townRoot, 'run', 'ssh', name),
    remoteSocket: layout.socket,
    remoteNode: layout.node,
    onError: (err) => options.onError?.(name, err),
  });
  try {
    // Dial now so a host key or auth problem is the error of this connect, not a gRPC UNAVAILABLE.
    await link.get();
    await bridge.start();
    await bridge.probe();
  } catch (err) {
    await bridge.close();
    await link.close();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  const grpc = await loadGrpc();
  const { client, close } = grpc.connectUnix(NodeAgent, bridge.socketPath);
  return {
    name,
    type: 'ssh',
    client: explainedByBridge(client, bridge),
    link,
    get transport() {
      return bridge.mode;
    },
    close: async () => {
      close();
      await bridge.close();
      await link.close();
    },
  };
}

/**
 * The client, with "cannot reach <local bridge socket>" (all gRPC can know when the bridge could
 * not get through) replaced by the bridge's own reason: the SSH failure of that machine.
 */
export function explainedByBridge<C extends object>(client: C, bridge: AgentBridge): C {
  const explain = (err: unknown): unknown =>
    err instanceof GtError &&
    err.code === 'GT_MACHINE_UNREACHABLE' &&
    err.message.includes(bridge.socketPath) &&
    bridge.failure !== undefined
      ? // Still "unreachable" to the registry, in the SSH failure's own words.
        new GtError('GT_MACHINE_UNREACHABLE', bridge.failure.message, {
          hint: bridge.failure.hint,
          cause: bridge.failure,
        })
      : err;
  return new Proxy(client, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        // Unary calls answer with a promise; streams (Attach) are passed through as they are.
        if (result instanceof Promise)
          return result.catch((err: unknown) => {
            throw explain(err);
          });
        return result;
      };
    },
  });
}

/** The registry's factory for `type: ssh` entries. */
export function sshConnectionFactory(options: SshFactoryOptions): ConnectionFactory {
  return async (name, machine, signal) => {
    if (machine.type !== 'ssh') throw new Error(`machine ${name} is not an ssh machine`);
    return connectSshMachine(name, machine, {
      ...options,
      ...(signal === undefined ? {} : { signal }),
    });
  };
}
