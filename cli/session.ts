/**
 * Reaching the coordinator: over its unix socket when a daemon runs for the town (`gt up`); in a
 * session on a worker machine, through the node agent's relay socket (GT_AGENT_SOCKET: the node
 * agent carries each call up its Attach stream); otherwise hosted in this process for the length
 * of the command (embedded mode) with the local node agent wired in-process through the same
 * generated service interfaces.
 */
import { existsSync } from 'node:fs';
import {
  Coordinator,
  GtError,
  NodeAgent,
  createInProcessClient,
  loadGrpc,
  type ClientOf,
} from '../proto/index.js';
import { agentSocketMissing } from './agent-relay.js';
import { gcpEndpointFromEnv } from './gcp-env.js';
import { coordinatorPaths, daemonLiveness } from './runtime-files.js';

export type CoordinatorClient = ClientOf<typeof Coordinator>;

export interface CoordinatorSession {
  client: CoordinatorClient;
  /** agent: through the node agent of a worker machine (a session there). */
  mode: 'embedded' | 'daemon' | 'agent';
  close(): Promise<void>;
}

export interface OpenOptions {
  townRoot: string;
  /** Force embedded mode even when a daemon runs (used by the daemon itself and by tests). */
  embedded?: boolean;
  /**
   * For read-only diagnosis (gt doctor): an invalid config/federation.json does not stop the
   * command; the registry holds the local machine only and the coordinator reports the file.
   */
  localOnlyIfFederationInvalid?: boolean;
}

export async function openCoordinator(options: OpenOptions): Promise<CoordinatorSession> {
  const paths = coordinatorPaths(options.townRoot);
  // The daemon serves only when its process lives (not a zombie) and its socket answers.
  if (options.embedded !== true && (await daemonLiveness(paths)).running) {
    const grpc = await loadGrpc();
    const { client, close } = grpc.connectUnix(Coordinator, paths.socket);
    return { client, mode: 'daemon', close: async () => close() };
  }
  // A session on a worker machine: its node agent relays to the coordinator.
  const relay = process.env.GT_AGENT_SOCKET;
  if (options.embedded !== true && relay !== undefined && relay !== '') {
    if (!existsSync(relay)) throw agentSocketMissing(relay);
    const grpc = await loadGrpc();
    const { client, close } = grpc.connectUnix(Coordinator, relay);
    return { client, mode: 'agent', close: async () => close() };
  }
  return openEmbedded(options.townRoot, options.localOnlyIfFederationInvalid === true);
}

/** Host coordinator + local node agent in this process. */
export async function openEmbedded(
  townRoot: string,
  localOnlyIfFederationInvalid = false,
): Promise<CoordinatorSession> {
  const host = await hostInProcess({ townRoot, mode: 'embedded', localOnlyIfFederationInvalid });
  return {
    client: createInProcessClient(Coordinator, host.coordinator),
    mode: 'embedded',
    close: host.close,
  };
}

export interface InProcessHost {
  coordinator: import('../coordinator/index.js').CoordinatorImpl;
  close(): Promise<void>;
}

/** Build the coordinator with a local machine served by an in-process node agent. */
export async function hostInProcess(options: {
  townRoot: string;
  mode: 'embedded' | 'daemon';
  onShutdown?: () => void;
  log?: import('../node-agent/index.js').Log;
  localOnlyIfFederationInvalid?: boolean;
  /** Heartbeat settings for the daemon (defaults: LIVENESS_DEFAULTS). */
  liveness?: { intervalMs?: number; graceMs?: number; lostAfterMs?: number };
  /** Town policy: a lost machine's issues are given back at once (config/town.json). */
  reassignLost?: boolean;
}): Promise<InProcessHost> {
  const [
    { createCoordinator, MachineRegistry, readFederation, loadSsh, loadGcp },
    { createNodeAgent },
  ] = await Promise.all([import('../coordinator/index.js'), import('../node-agent/index.js')]);
  const agents: Array<{ close(): Promise<void> }> = [];
  let machines: Record<string, import('../coordinator/index.js').Machine> = {
    local: { type: 'local' },
  };
  let federationProblem: GtError | undefined;
  if (existsSync(`${options.townRoot}/config/federation.json`)) {
    try {
      machines = (await readFederation(options.townRoot)).machines;
    } catch (err) {
      const invalid = err instanceof GtError && err.code === 'GT_CONFIG_INVALID';
      if (!invalid || options.localOnlyIfFederationInvalid !== true) throw err;
      federationProblem = err;
    }
  }
  if (machines.local === undefined) machines = { ...machines, local: { type: 'local' } };
  let gcpFactory: import('../coordinator/index.js').ConnectionFactory | undefined;
  const registry = new MachineRegistry({
    machines,
    factories: {
      ssh: async (name, machine, signal) =>
        (await loadSsh()).sshConnectionFactory({ townRoot: options.townRoot })(
          name,
          machine,
          signal,
        ),
      gcp: async (name, machine, signal) => {
        const gcp = await loadGcp();
        gcpFactory ??= gcp.gcpConnectionFactory({
          townRoot: options.townRoot,
          compute: () => gcp.createComputeApi({ endpoint: gcpEndpointFromEnv() }),
        });
        return gcpFactory(name, machine, signal);
      },
      local: async (name) => {
        const agent = createNodeAgent({
          townRoot: options.townRoot,
          machine: name,
          ...(options.log === undefined ? {} : { log: options.log }),
        });
        agents.push(agent);
        return {
          name,
          type: 'local',
          client: createInProcessClient(NodeAgent, agent.impl),
          close: () => agent.close(),
        };
      },
    },
  });
  const closers: Array<() => Promise<void>> = [];
  const coordinator = createCoordinator({
    townRoot: options.townRoot,
    mode: options.mode,
    registry,
    closers,
    compute: async () => (await loadGcp()).createComputeApi({ endpoint: gcpEndpointFromEnv() }),
    // The daemon watches every machine's heartbeats; a one-shot gt process does not.
    ...(options.mode === 'daemon'
      ? { liveness: options.liveness ?? {}, reassignLost: options.reassignLost === true }
      : {}),
    ...(options.onShutdown === undefined ? {} : { onShutdown: options.onShutdown }),
    ...(federationProblem === undefined ? {} : { federationProblem }),
  });
  return {
    coordinator,
    close: async () => {
      for (const close of closers) await close();
      await registry.close();
      await Promise.all(agents.map((a) => a.close()));
    },
  };
}
