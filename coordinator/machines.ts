/**
 * The machine registry: one MachineConnection per machine of config/federation.json. Only the
 * connection factory differs between machine types (local in-process, local unix socket, ssh,
 * gcp); routing and everything above it is the same code path for all of them.
 */
import type { NodeAgent } from '../proto/index.js';
import {
  GtError,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  GT_VERSION,
  type HandshakeResponse,
  type ClientOf,
} from '../proto/index.js';
import { machineTypeNotAvailable, unknownMachine } from './errors.js';
import type { Machine } from './federation.js';

export type NodeAgentClient = ClientOf<typeof NodeAgent>;

export type MachineState = 'connecting' | 'connected' | 'disconnected' | 'failed';

export interface MachineConnection {
  readonly name: string;
  readonly type: Machine['type'];
  readonly client: NodeAgentClient;
  close(): Promise<void>;
}

/** Creates the connection for one machine entry; hosts supply one per machine type they support. */
export type ConnectionFactory = (name: string, machine: Machine) => Promise<MachineConnection>;

export interface MachineRegistryOptions {
  machines: Record<string, Machine>;
  factories: Partial<Record<Machine['type'], ConnectionFactory>>;
}

interface Entry {
  machine: Machine;
  connection?: Promise<MachineConnection>;
  handshake?: HandshakeResponse;
  state: MachineState;
  detail: string;
}

export class MachineRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly factories: MachineRegistryOptions['factories'];

  constructor(options: MachineRegistryOptions) {
    this.factories = options.factories;
    for (const [name, machine] of Object.entries(options.machines))
      this.entries.set(name, { machine, state: 'disconnected', detail: '' });
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  describe(): Array<{
    name: string;
    type: string;
    state: MachineState;
    agentVersion: string;
    detail: string;
  }> {
    return [...this.entries].map(([name, e]) => ({
      name,
      type: e.machine.type,
      state: e.state,
      agentVersion: e.handshake?.agentVersion ?? '',
      detail: e.detail,
    }));
  }

  /** The connection to a machine, dialled and handshaken on first use. */
  async connect(name: string): Promise<MachineConnection> {
    const entry = this.entries.get(name);
    if (entry === undefined) throw unknownMachine(name, this.names());
    entry.connection ??= this.dial(name, entry).catch((err: unknown) => {
      entry.connection = undefined;
      entry.state = 'failed';
      entry.detail = err instanceof Error ? err.message : String(err);
      throw err;
    });
    return entry.connection;
  }

  private async dial(name: string, entry: Entry): Promise<MachineConnection> {
    const factory = this.factories[entry.machine.type];
    if (factory === undefined) throw machineTypeNotAvailable(name, entry.machine.type);
    entry.state = 'connecting';
    const connection = await factory(name, entry.machine);
    const hello = await connection.client.handshake(
      { coordinatorVersion: GT_VERSION, protocolVersion: PROTOCOL_VERSION, machine: name },
      { timeoutMs: 10_000 },
    );
    if (hello.protocolVersion < MIN_PROTOCOL_VERSION || hello.protocolVersion > PROTOCOL_VERSION) {
      await connection.close();
      throw new GtError(
        'GT_VERSION_SKEW',
        `machine "${name}" runs node agent ${hello.agentVersion} (protocol ${hello.protocolVersion}); this coordinator speaks protocol ${PROTOCOL_VERSION}`,
        {
          hint:
            hello.protocolVersion < MIN_PROTOCOL_VERSION
              ? `upgrade the node agent on ${name}`
              : 'upgrade the coordinator first (it must be the newer side)',
        },
      );
    }
    entry.handshake = hello;
    entry.state = 'connected';
    entry.detail = hello.hostname;
    return connection;
  }

  async close(): Promise<void> {
    const pending = [...this.entries.values()].map(async (e) => {
      const c = e.connection;
      e.connection = undefined;
      e.state = 'disconnected';
      if (c !== undefined) await (await c.catch(() => undefined))?.close();
    });
    await Promise.all(pending);
  }
}
