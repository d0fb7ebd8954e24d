/**
 * The machine registry: one MachineConnection per machine of config/federation.json. Only the
 * connection factory differs between machine types (local in-process, local unix socket, ssh,
 * gcp); routing and everything above it is the same code path for all of them.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
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

/**
 * connecting: being dialled; connected: answered its last call; disconnected: not dialled yet
 * (or closed); unreachable: its last call failed in transport or timed out (it is retried on the
 * next call); refused: it answered but we refuse it (protocol version skew); stopped: a gcp
 * instance that is not running (`gt machine start NAME`).
 */
export type MachineState =
  'connecting' | 'connected' | 'disconnected' | 'lost' | 'unreachable' | 'refused' | 'stopped';

/** What the registry knows about a machine, without asking it. */
export interface MachineDescription {
  name: string;
  type: Machine['type'];
  /** Where it is reached: `user@host:port` for ssh, the instance for gcp, `local`. */
  address: string;
  state: MachineState;
  /** Why it is in that state (the last error), or the agent's hostname when connected. */
  detail: string;
  agentVersion: string;
  protocolVersion: number;
  /** The agent speaks the previous protocol or is an older release: accepted, due an upgrade. */
  upgradeAvailable: boolean;
  maxPolecats: number;
  labels: string[];
  /** ISO time of the last call it answered; empty when it never has. */
  lastSeenAt: string;
  /** `gt machine drain` was set when the registry was built (the list reads it afresh). */
  draining?: boolean;
}

/** Errors that say the machine itself could not be used (not that it answered "no"). */
const TRANSPORT_CODES = new Set([
  'GT_MACHINE_UNREACHABLE',
  'GT_MACHINE_STOPPED',
  'GT_MACHINE_DISCONNECTED',
  'GT_MACHINE_LOST',
  'GT_TIMEOUT',
  'GT_NOT_IMPLEMENTED',
  // Nothing answered on the SSH side either: not an answer from the machine.
  'GT_SSH_REFUSED',
  'GT_SSH_TIMEOUT',
  'GT_SSH_CHANNEL_REFUSED',
]);

function failedState(err: GtError): MachineState {
  if (err.code === 'GT_VERSION_SKEW') return 'refused';
  if (err.code === 'GT_MACHINE_DISCONNECTED') return 'disconnected';
  if (err.code === 'GT_MACHINE_LOST') return 'lost';
  return err.code === 'GT_MACHINE_STOPPED' ? 'stopped' : 'unreachable';
}

/** The heartbeat watch said the machine is silent (liveness.ts), and it has not answered since. */
function heartbeatVerdict(entry: { state: MachineState; silent?: boolean }): boolean {
  return entry.silent === true && (entry.state === 'lost' || entry.state === 'disconnected');
}

/**
 * A call or dial failed: the machine's state and why. The heartbeat watch's verdict stands until
 * the machine answers: a failed call to a lost machine does not make it merely "unreachable".
 */
function settle(
  entry: { state: MachineState; detail: string; silent?: boolean },
  err: GtError,
): void {
  const state = failedState(err);
  if (state === 'unreachable' && heartbeatVerdict(entry)) return;
  entry.silent = err.code === 'GT_MACHINE_DISCONNECTED' || err.code === 'GT_MACHINE_LOST';
  entry.state = state;
  entry.detail = err.code === 'GT_VERSION_SKEW' ? refusalDetail(err) : err.message;
}

export interface MachineConnection {
  readonly name: string;
  readonly type: Machine['type'];
  readonly client: NodeAgentClient;
  close(): Promise<void>;
}

/** Creates the connection for one machine entry; hosts supply one per machine type they support. */
export type ConnectionFactory = (
  name: string,
  machine: Machine,
  /** Aborted when the registry closes while the dial is in flight (a hung host). */
  signal?: AbortSignal,
) => Promise<MachineConnection>;

export interface MachineRegistryOptions {
  machines: Record<string, Machine>;
  factories: Partial<Record<Machine['type'], ConnectionFactory>>;
  /**
   * The protocol this coordinator speaks (default PROTOCOL_VERSION); agents one version behind
   * are accepted. Set only by tests of version skew.
   */
  protocolVersion?: number;
}

interface Entry {
  machine: Machine;
  connection?: Promise<MachineConnection>;
  handshake?: HandshakeResponse;
  state: MachineState;
  detail: string;
  lastSeenAt: string;
  /** The heartbeat watch's verdict (disconnected / lost) holds until the machine answers. */
  silent?: boolean;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The fix for an agent too old for this coordinator. */
export function upgradeHint(name: string): string {
  // An upgrade installs this coordinator's version beside the old one and switches to it.
  return `install this coordinator's version there: \`gt machine upgrade ${name}\` (a local machine: restart it with this gt)`;
}

/** `a` is an older release than `b` (dotted numbers; anything after `-` is ignored). */
export function olderVersion(a: string, b: string): boolean {
  const parts = (v: string): number[] =>
    (v.split('-')[0] ?? '').split('.').map((x) => Number(x) || 0);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return false;
}

/** A refused machine's detail carries the fix (gt machine list / status show only the detail). */
function refusalDetail(err: GtError): string {
  return err.hint === undefined ? err.message : `${err.message}; ${err.hint}`;
}

function machineAddress(machine: Machine): string {
  switch (machine.type) {
    case 'local':
      return 'local';
    case 'ssh':
      return `${machine.user}@${machine.host}:${machine.port}`;
    case 'gcp':
      return `${machine.project}/${machine.zone}/${machine.instance}`;
  }
}

export class MachineRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly factories: MachineRegistryOptions['factories'];
  private readonly protocol: number;
  /** Aborts every dial in flight when the registry closes. */
  private readonly closing = new AbortController();
  /** Emits a machine's name with the error when the heartbeat watch's verdict falls on it. */
  private readonly silence = new EventEmitter().setMaxListeners(0);

  constructor(options: MachineRegistryOptions) {
    this.factories = options.factories;
    this.protocol = options.protocolVersion ?? PROTOCOL_VERSION;
    // Every dial in flight listens on it: one per machine, a fleet has hundreds.
    setMaxListeners(0, this.closing.signal);
    for (const [name, machine] of Object.entries(options.machines))
      this.entries.set(name, { machine, state: 'disconnected', detail: '', lastSeenAt: '' });
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** A machine's entry of config/federation.json. */
  machine(name: string): Machine | undefined {
    return this.entries.get(name)?.machine;
  }

  describe(): MachineDescription[] {
    return [...this.entries].map(([name, e]) => ({
      name,
      type: e.machine.type,
      address: machineAddress(e.machine),
      state: e.state,
      detail: e.detail,
      agentVersion: e.handshake?.agentVersion ?? '',
      protocolVersion: e.handshake?.protocolVersion ?? 0,
      upgradeAvailable:
        e.handshake !== undefined &&
        (e.handshake.protocolVersion < this.protocol ||
          olderVersion(e.handshake.agentVersion, GT_VERSION)),
      maxPolecats: e.machine.max_polecats ?? 0,
      labels: e.machine.labels ?? [],
      lastSeenAt: e.lastSeenAt,
    }));
  }

  /** The machine answered a call (any answer, an error included, proves it is there). */
  noteAnswer(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    entry.lastSeenAt = new Date().toISOString();
    entry.silent = false;
    if (entry.handshake !== undefined && entry.state !== 'refused') {
      entry.state = 'connected';
      entry.detail = entry.handshake.hostname;
    }
  }

  /** A call failed: a transport failure or timeout marks the machine unreachable, with why. */
  noteFailure(name: string, err: GtError): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    const before = heartbeatVerdict(entry) ? entry.state : undefined;
    if (err.code === 'GT_VERSION_SKEW') {
      entry.state = 'refused';
      entry.detail = refusalDetail(err);
    } else if (TRANSPORT_CODES.has(err.code)) settle(entry, err);
    else this.noteAnswer(name);
    if (heartbeatVerdict(entry) && entry.state !== before) this.silence.emit(name, err);
  }

  /**
   * The heartbeat watch's verdict on `name` while it stands (disconnected or lost, and nothing
   * answered since), as the error a call to it would end with; undefined otherwise.
   */
  silentVerdict(name: string): GtError | undefined {
    const entry = this.entries.get(name);
    if (entry === undefined || !heartbeatVerdict(entry)) return undefined;
    const code = entry.state === 'lost' ? 'GT_MACHINE_LOST' : 'GT_MACHINE_DISCONNECTED';
    return new GtError(code, entry.detail);
  }

  /** Call `listener` when the heartbeat watch turns `name` disconnected or lost; returns `off`. */
  onSilent(name: string, listener: (err: GtError) => void): () => void {
    this.silence.on(name, listener);
    return () => this.silence.off(name, listener);
  }

  /**
   * Take in the machines of config/federation.json this registry does not know yet (added while
   * a daemon runs: `gt machine add`, machines an elastic swarm grew). Known ones are untouched.
   */
  addNew(machines: Record<string, Machine>): string[] {
    const added = Object.keys(machines).filter((n) => !this.entries.has(n));
    for (const name of added) {
      const machine = machines[name];
      if (machine !== undefined)
        this.entries.set(name, { machine, state: 'disconnected', detail: '', lastSeenAt: '' });
    }
    return added;
  }

  /** Drop a machine (gt machine remove): its connection is closed. */
  async remove(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    this.entries.delete(name);
    const c = entry.connection;
    if (c !== undefined) await (await c.catch(() => undefined))?.close();
  }

  /** The connection to a machine, dialled and handshaken on first use. */
  async connect(name: string): Promise<MachineConnection> {
    const entry = this.entries.get(name);
    if (entry === undefined) throw unknownMachine(name, this.names());
    entry.connection ??= this.dial(name, entry).catch((err: unknown) => {
      entry.connection = undefined;
      const gt = err instanceof GtError ? err : new GtError('GT_MACHINE_UNREACHABLE', String(err));
      settle(entry, gt);
      throw gt;
    });
    return entry.connection;
  }

  private async dial(name: string, entry: Entry): Promise<MachineConnection> {
    const factory = this.factories[entry.machine.type];
    if (factory === undefined) throw machineTypeNotAvailable(name, entry.machine.type);
    if (!heartbeatVerdict(entry)) entry.state = 'connecting';
    const connection = await factory(name, entry.machine, this.closing.signal);
    let hello: HandshakeResponse;
    try {
      hello = await connection.client.handshake(
        { coordinatorVersion: GT_VERSION, protocolVersion: this.protocol, machine: name },
        { timeoutMs: HANDSHAKE_TIMEOUT_MS, signal: this.closing.signal },
      );
    } catch (err) {
      await connection.close();
      throw err;
    }
    const oldest = this.protocol === PROTOCOL_VERSION ? MIN_PROTOCOL_VERSION : this.protocol - 1;
    if (hello.protocolVersion < oldest || hello.protocolVersion > this.protocol) {
      await connection.close();
      throw new GtError(
        'GT_VERSION_SKEW',
        `machine "${name}" runs node agent ${hello.agentVersion} (protocol ${hello.protocolVersion}); this coordinator speaks protocol ${this.protocol}`,
        {
          hint:
            hello.protocolVersion < oldest
              ? upgradeHint(name)
              : 'upgrade the coordinator first (it must be the newer side), then the node agents',
        },
      );
    }
    entry.handshake = hello;
    entry.silent = false;
    entry.state = 'connected';
    entry.detail = hello.hostname;
    entry.lastSeenAt = new Date().toISOString();
    return connection;
  }

  async close(): Promise<void> {
    this.closing.abort();
    const pending = [...this.entries.values()].map(async (e) => {
      const c = e.connection;
      e.connection = undefined;
      e.state = 'disconnected';
      if (c !== undefined) await (await c.catch(() => undefined))?.close();
    });
    await Promise.all(pending);
  }
}
