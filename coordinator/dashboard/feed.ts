/**
 * The coordinator's event feed: what changed in the town (machines, rigs and their merge queues,
 * polecats, swarms, the Mayor's and the Overseer's unread mail), as DashboardEvents of the wire
 * contract. It learns from the node agents' own answers, asked through the Coordinator service
 * itself, and it asks when something may have changed: after every call that changes the town
 * (the CLI's, the agents' `gt done`, the daemon's witness and refinery loops — `watch()` wraps the
 * service they all call), and, while someone is subscribed, on a slow tick for what changes on
 * its own (pane activity, `bd` run by agents, machine load). Nobody subscribed, nothing kicked:
 * the feed does no work at all.
 */
import { create, toJsonString, type DescMessage } from '@bufbuild/protobuf';
import {
  DashboardEventSchema,
  DashboardPolecatSchema,
  DashboardRigSchema,
  DashboardSnapshotSchema,
  MachineStatusResponseSchema,
  MailMessageSchema,
  SwarmInfoSchema,
  errorMessage,
  type ClientOf,
  type Coordinator,
  type DashboardEvent,
  type DashboardPolecat,
  type DashboardRig,
  type DashboardSnapshot,
  type ImplOf,
  type MachineStatusResponse,
  type MailMessage,
  type SwarmInfo,
} from '../../proto/index.js';
import { summarize } from './summary.js';

type Client = ClientOf<typeof Coordinator>;
type Impl = ImplOf<typeof Coordinator>;

export type FeedKind = 'machine' | 'rig' | 'polecat' | 'swarm' | 'mail';

/** One item the dashboard shows, with its wire JSON (what a change is compared by). */
export interface FeedItem {
  kind: FeedKind;
  key: string;
  value: MachineStatusResponse | DashboardRig | DashboardPolecat | SwarmInfo | MailMessage;
  json: string;
}

export interface FeedLogger {
  warn(obj: object, msg: string): void;
}

export interface TownFeedOptions {
  /** The coordinator, called in-process (the feed's own reads never kick it). */
  client: Client;
  town: string;
  log?: FeedLogger;
  /** While someone is subscribed, how often to look for changes nobody announced (default 5 s). */
  idleRefreshMs?: number;
  /** How often machine reports (load, disk) are asked for (default 10 s). */
  machineRefreshMs?: number;
  /** A kick waits this long for others to join it (default 25 ms). */
  coalesceMs?: number;
  /** Each answer the feed waits for (default 5 s): a hung machine delays, never stops, the feed. */
  callTimeoutMs?: number;
}

export type FeedListener = (event: DashboardEvent) => void;

const SCHEMA: Record<FeedKind, DescMessage> = {
  machine: MachineStatusResponseSchema,
  rig: DashboardRigSchema,
  polecat: DashboardPolecatSchema,
  swarm: SwarmInfoSchema,
  mail: MailMessageSchema,
};

/** Events kept for a page that reconnects (it gets what it missed, or a new snapshot). */
const REPLAY = 1_000;

export class TownFeed {
  readonly #o: TownFeedOptions;
  readonly #listeners = new Set<FeedListener>();
  #items = new Map<string, FeedItem>();
  #seq = 0n;
  #at = '';
  readonly #recent: DashboardEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #idle: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #machinesAt = 0;
  #machines: FeedItem[] = [];
  #first: Promise<void> | undefined;
  /** Refreshes done and their cost (for the bench and `gt up --status`-like diagnosis). */
  readonly stats = { refreshes: 0, lastRefreshMs: 0 };

  constructor(options: TownFeedOptions) {
    this.#o = options;
  }

  get seq(): bigint {
    return this.#seq;
  }

  /** The whole picture now (a first refresh is waited for). */
  async snapshot(): Promise<DashboardSnapshot> {
    this.#first ??= this.refresh();
    await this.#first;
    const of = <K extends FeedKind>(kind: K) =>
      [...this.#items.values()].filter((i) => i.kind === kind).map((i) => i.value);
    return create(DashboardSnapshotSchema, {
      seq: this.#seq,
      at: this.#at,
      town: this.#o.town,
      machines: of('machine') as MachineStatusResponse[],
      rigs: of('rig') as DashboardRig[],
      polecats: of('polecat') as DashboardPolecat[],
      swarms: of('swarm') as SwarmInfo[],
      mail: (of('mail') as MailMessage[]).sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
    });
  }

  /** The events after `seq`, or undefined when they are no longer all kept. */
  since(seq: bigint): DashboardEvent[] | undefined {
    if (seq === this.#seq) return [];
    const first = this.#recent[0];
    if (first === undefined || seq < first.seq - 1n || seq > this.#seq) return undefined;
    return this.#recent.filter((e) => e.seq > seq);
  }

  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    this.#armIdle();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#idle !== undefined) {
        clearInterval(this.#idle);
        this.#idle = undefined;
      }
    };
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  /** Something may have changed: look soon (kicks close together share one look). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.refresh();
    }, this.#o.coalesceMs ?? 25);
  }

  /** Look now; resolves when this look (or the one in flight and the next) is done. */
  refresh(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#look().catch((err: unknown) =>
          this.#o.log?.warn({ err: errorMessage(err) }, 'dashboard feed: look failed'),
        );
      } while (this.#again && !this.#stopped);
    })().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /**
   * The Coordinator service with every call that can change the town kicking the feed when it
   * ends (success or failure). Serve this one; give the feed the plain one.
   */
  watch(impl: Impl): Impl {
    const methods = impl as unknown as Record<string, (req: unknown, ctx: unknown) => unknown>;
    const watched: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(methods)) {
      if (READS.has(name)) {
        watched[name] = fn;
        continue;
      }
      watched[name] = async (req: unknown, ctx: unknown) => {
        let res: unknown;
        try {
          res = await fn.call(impl, req, ctx);
          return res;
        } finally {
          if (changedSomething(name, req, res)) this.kick();
        }
      };
    }
    return watched as unknown as Impl;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#idle !== undefined) clearInterval(this.#idle);
    this.#listeners.clear();
    await this.#running;
  }

  #armIdle(): void {
    if (this.#idle !== undefined || this.#stopped) return;
    this.#idle = setInterval(() => this.kick(), this.#o.idleRefreshMs ?? 5_000);
    this.#idle.unref();
  }

  async #look(): Promise<void> {
    const started = performance.now();
    const items = await this.#collect();
    const at = new Date().toISOString();
    const events: DashboardEvent[] = [];
    for (const item of items.values()) {
      const old = this.#items.get(item.key);
      if (old !== undefined && old.json === item.json) continue;
      events.push(this.#event(at, item, old, false));
    }
    for (const old of this.#items.values())
      if (!items.has(old.key)) events.push(this.#event(at, old, old, true));
    this.#items = items;
    this.stats.refreshes += 1;
    this.stats.lastRefreshMs = performance.now() - started;
    if (events.length === 0) return;
    this.#at = at;
    for (const event of events) {
      this.#recent.push(event);
      for (const listener of this.#listeners) listener(event);
    }
    if (this.#recent.length > REPLAY) this.#recent.splice(0, this.#recent.length - REPLAY);
  }

  #event(at: string, item: FeedItem, old: FeedItem | undefined, removed: boolean): DashboardEvent {
    this.#seq += 1n;
    const value = removed
      ? { case: undefined }
      : ({ case: item.kind, value: item.value } as DashboardEvent['value']);
    return create(DashboardEventSchema, {
      seq: this.#seq,
      at,
      kind: item.kind,
      key: item.key,
      removed,
      summary: summarize(item, old, removed),
      value,
    });
  }

  async #collect(): Promise<Map<string, FeedItem>> {
    const c = this.#o.client;
    const opt = { timeoutMs: this.#o.callTimeoutMs ?? 5_000 };
    const items = new Map<string, FeedItem>();
    const add = (kind: FeedKind, key: string, value: FeedItem['value']): void => {
      const k = `${kind}:${key}`;
      items.set(k, { kind, key: k, value, json: toJsonString(SCHEMA[kind], value as never) });
    };
    const [status, swarms, mayor, overseer, machines] = await Promise.all([
      c.getStatus({}, opt),
      c.listSwarms({ id: '', rig: '' }, opt).catch(() => undefined),
      c.listMail({ address: 'mayor', unreadOnly: true }, opt).catch(() => undefined),
      c.listMail({ address: 'overseer', unreadOnly: true }, opt).catch(() => undefined),
      this.#machineItems(),
    ]);
    for (const m of machines) items.set(m.key, m);
    await Promise.all(
      status.rigs.map(async (rigStatus) => {
        const rig = rigStatus.rig?.name ?? '';
        if (rig === '') return;
        const machine = rigStatus.rig?.machine ?? '';
        const [polecats, queue] = await Promise.all([
          c.listPolecats({ rig }, opt).catch(() => undefined),
          c.listMergeQueue({ rig }, opt).catch(() => undefined),
        ]);
        add(
          'rig',
          rig,
          create(DashboardRigSchema, {
            status: rigStatus,
            ...(queue === undefined ? {} : { mergeQueue: queue }),
          }),
        );
        for (const info of polecats?.polecats ?? [])
          add(
            'polecat',
            `${rig}/${info.status?.name ?? ''}`,
            create(DashboardPolecatSchema, { rig, machine, info }),
          );
      }),
    );
    for (const swarm of swarms?.swarms ?? []) add('swarm', swarm.id, swarm);
    for (const m of [...(mayor?.messages ?? []), ...(overseer?.messages ?? [])])
      add('mail', `${m.to}/${m.id}`, m);
    return items;
  }

  /** Machine reports (load, disk) are asked for at most every machineRefreshMs. */
  async #machineItems(): Promise<FeedItem[]> {
    const everyMs = this.#o.machineRefreshMs ?? 10_000;
    if (Date.now() - this.#machinesAt < everyMs && this.#machines.length > 0) return this.#machines;
    const c = this.#o.client;
    const opt = { timeoutMs: this.#o.callTimeoutMs ?? 5_000 };
    const names = (await c.getInfo({}, opt)).machines.map((m) => m.name);
    const answers = await Promise.all(
      names.map((name) => c.machineStatus({ name }, opt).catch(() => undefined)),
    );
    this.#machinesAt = Date.now();
    this.#machines = answers
      .filter((a): a is MachineStatusResponse => a !== undefined)
      .map((value) => {
        const key = `machine:${value.machine?.name ?? ''}`;
        // The clock offset moves on every ask: it is not a change worth an event.
        const stable = create(MachineStatusResponseSchema, { ...value, clockOffsetMs: 0n });
        return {
          kind: 'machine' as const,
          key,
          value,
          json: toJsonString(MachineStatusResponseSchema, stable),
        };
      });
    return this.#machines;
  }
}

/** Calls that only read: they never kick the feed. */
const READS = new Set([
  'getInfo',
  'listRigs',
  'getStatus',
  'prime',
  'listMail',
  'listPolecats',
  'capture',
  'listMergeQueue',
  'getMergeQueueEntry',
  'listSwarms',
  'listPlugins',
  'listMachines',
  'machineStatus',
]);

/** Loop calls that usually find nothing to do kick only when they did something. */
function changedSomething(name: string, req: unknown, res: unknown): boolean {
  if (name === 'processMergeQueue' && res !== undefined)
    return ((res as { processed?: unknown[] }).processed ?? []).length > 0;
  if (name === 'witnessPatrol' && res !== undefined)
    return ((res as { actions?: unknown[] }).actions ?? []).length > 0;
  if (name === 'doctor') return (req as { fix?: boolean }).fix === true;
  return true;
}
