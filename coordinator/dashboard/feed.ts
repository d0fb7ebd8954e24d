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
import { randomBytes } from 'node:crypto';
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
  type MachineReport,
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
  /** While someone is subscribed, how often to look at everything anyway (default 60 s). */
  idleRefreshMs?: number;
  /**
   * While someone is subscribed, how often to look at the machines as the registry knows them
   * (state, last answer; no machine is asked: about 0.1 ms; default 2 s).
   */
  machineTickMs?: number;
  /** How often machine reports (load, disk) are asked for (default 60 s). */
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
  #machineTick: NodeJS.Timeout | undefined;
  #fullAt = 0;
  /** The look in flight is a light one (machines only). */
  #light = false;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #reportsAt = 0;
  #reports = new Map<string, MachineReport>();
  #first: Promise<void> | undefined;
  /** Refreshes done and their cost (for the bench and `gt up --status`-like diagnosis). */
  readonly stats = { refreshes: 0, lastRefreshMs: 0 };

  constructor(options: TownFeedOptions) {
    this.#o = options;
  }

  get seq(): bigint {
    return this.#seq;
  }

  /** New for every feed: sequence numbers mean something only within one feed. */
  readonly id = randomBytes(6).toString('base64url');

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
      feedId: this.id,
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
      if (this.#listeners.size === 0) this.#disarmIdle();
    };
  }

  /** A look is due or under way. */
  get scheduled(): boolean {
    return this.#timer !== undefined || this.#running !== undefined;
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
    // A light look in flight: the full one follows it.
    if (this.#light && this.#running !== undefined) return this.#running.then(() => this.refresh());
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#look(true).catch((err: unknown) =>
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
    this.#disarmIdle();
    this.#listeners.clear();
    await this.#running;
  }

  #armIdle(): void {
    if (this.#idle !== undefined || this.#stopped) return;
    const idleMs = this.#o.idleRefreshMs ?? 60_000;
    // A full look is due when none was taken for idleMs (kicks count).
    this.#idle = setInterval(
      () => {
        if (Date.now() - this.#fullAt >= idleMs) this.kick();
      },
      Math.max(idleMs / 4, 10),
    );
    this.#idle.unref();
    this.#machineTick = setInterval(() => {
      // Only between full looks (a full look covers the machines too).
      if (this.#running !== undefined || this.#timer !== undefined || this.#first === undefined)
        return;
      this.#light = true;
      this.#running = this.#look(false)
        .catch(() => undefined)
        .finally(() => {
          this.#running = undefined;
          this.#light = false;
          if (this.#again) void this.refresh();
        });
    }, this.#o.machineTickMs ?? 2_000);
    this.#machineTick.unref();
  }

  #disarmIdle(): void {
    clearInterval(this.#idle);
    clearInterval(this.#machineTick);
    this.#idle = undefined;
    this.#machineTick = undefined;
  }

  /** A full look asks every rig; a light one only rebuilds the machines from the registry. */
  async #look(full: boolean): Promise<void> {
    const started = performance.now();
    const items = full ? await this.#collect() : await this.#withMachines(new Map(this.#items));
    if (full) this.#fullAt = Date.now();
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
    const [status, swarms, mayor, overseer] = await Promise.all([
      c.getStatus({}, opt),
      c.listSwarms({ id: '', rig: '' }, opt).catch(() => undefined),
      c.listMail({ address: 'mayor', unreadOnly: true }, opt).catch(() => undefined),
      c.listMail({ address: 'overseer', unreadOnly: true }, opt).catch(() => undefined),
    ]);
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
    return this.#withMachines(items);
  }

  /** `items` with the machines put in afresh: registry state, report, polecats running there. */
  async #withMachines(items: Map<string, FeedItem>): Promise<Map<string, FeedItem>> {
    const running = new Map<string, number>();
    for (const [key, item] of items) {
      const p = item.value as DashboardPolecat;
      if (item.kind === 'polecat' && p.info?.status?.sessionAlive === true)
        running.set(p.machine, (running.get(p.machine) ?? 0) + 1);
      if (item.kind === 'machine') items.delete(key);
    }
    for (const m of await this.#machineItems()) {
      const name = m.machine?.name ?? '';
      const value = create(MachineStatusResponseSchema, {
        ...m,
        ...(m.machine === undefined
          ? {}
          : { machine: { ...m.machine, polecats: running.get(name) ?? 0 } }),
      });
      const key = `machine:${name}`;
      items.set(key, {
        kind: 'machine',
        key,
        value,
        json: toJsonString(MachineStatusResponseSchema, value),
      });
    }
    return items;
  }

  /**
   * Every machine as the registry knows it now (state, version, last answer: no machine is asked),
   * with its report (load, disk), asked for at most every machineRefreshMs.
   */
  async #machineItems(): Promise<MachineStatusResponse[]> {
    const c = this.#o.client;
    const opt = { timeoutMs: this.#o.callTimeoutMs ?? 5_000 };
    const everyMs = this.#o.machineRefreshMs ?? 60_000;
    if (Date.now() - this.#reportsAt >= everyMs) {
      const names = (await c.getInfo({}, opt)).machines.map((m) => m.name);
      const answers = await Promise.all(
        names.map((name) => c.machineStatus({ name }, opt).catch(() => undefined)),
      );
      this.#reportsAt = Date.now();
      this.#reports = new Map(
        answers.flatMap((a) =>
          a?.report === undefined ? [] : [[a.machine?.name ?? '', a.report] as const],
        ),
      );
    }
    const info = await c.getInfo({}, opt);
    return info.machines.map((machine) => {
      const report = this.#reports.get(machine.name);
      return create(MachineStatusResponseSchema, {
        machine,
        ...(report === undefined ? {} : { report }),
      });
    });
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
