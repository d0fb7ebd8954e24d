/**
 * The coordinator's event feed: what changed in the town (machines, rigs and their merge queues,
 * polecats, swarms, the Mayor's and the Overseer's unread mail), as DashboardEvents of the wire
 * contract. It learns from the node agents' own answers, asked through the Coordinator service
 * itself, and it asks when something may have changed: after every call that changes the town
 * (the CLI's, the agents' `gt done`, the daemon's witness and refinery loops — `watch()` wraps the
 * service they all call), and, while someone is subscribed, on a slow tick for what changes on
 * its own (`bd` run by agents, machine load and liveness). With nobody subscribed a kick only
 * marks the feed stale: the next page looks first, and a town nobody watches pays nothing.
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
import { watchCoordinator, type KickScope } from './watch.js';

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
  /** Something changed while nobody was subscribed: the next snapshot looks first. */
  #stale = false;
  /** The look in flight is a light one (machines only). */
  #light = false;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #reportsAt = 0;
  #reports = new Map<string, MachineReport>();
  #first: Promise<void> | undefined;
  /** What the kicks since the last look named: some rigs, or anything. */
  readonly #pendingRigs = new Set<string>();
  #pendingFull = false;
  /** Looks taken and what the last one took (it sets the rest between back-to-back looks). */
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
    if (this.#stale) await this.refresh();
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
    if (this.#stale) this.kick();
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

  /**
   * Something may have changed — in one rig (`scope.rig`), or anywhere: look soon (kicks close
   * together share one look; kicks that each name a rig share a look at those rigs only).
   */
  kick(scope: KickScope = {}): void {
    if (this.#stopped) return;
    if (scope.rig === undefined) this.#pendingFull = true;
    else this.#pendingRigs.add(scope.rig);
    // Nobody watching: remember, and look when someone asks (a snapshot, a subscription).
    if (this.#listeners.size === 0) {
      this.#stale = true;
      return;
    }
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, this.#o.coalesceMs ?? 25);
  }

  /** Look at everything now; resolves when that look is done. */
  refresh(): Promise<void> {
    this.#pendingFull = true;
    return this.#run();
  }

  #run(): Promise<void> {
    // A light look in flight: the asked-for one follows it.
    if (this.#light && this.#running !== undefined) return this.#running.then(() => this.#run());
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      for (;;) {
        this.#again = false;
        this.#stale = false;
        const rigs = this.#pendingFull ? [] : [...this.#pendingRigs];
        this.#pendingFull = false;
        this.#pendingRigs.clear();
        await this.#look(rigs.length === 0 ? 'full' : rigs).catch((err: unknown) =>
          this.#o.log?.warn({ err: errorMessage(err) }, 'dashboard feed: look failed'),
        );
        if (!this.#again || this.#stopped) break;
        // A busy town kicks all the time: rest as long as a look takes, so the feed never takes
        // more than half a core.
        const restMs = Math.max(this.#o.coalesceMs ?? 25, this.stats.lastRefreshMs);
        await new Promise((r) => setTimeout(r, restMs));
      }
    })().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /**
   * The Coordinator service with every call that can change the town kicking the feed when it
   * ends (success or failure). Serve this one; give the feed the plain one.
   */
  watch(impl: Impl): Impl {
    return watchCoordinator(impl, (scope) => this.kick(scope));
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
      this.#running = this.#look('light')
        .catch(() => undefined)
        .finally(() => {
          this.#running = undefined;
          this.#light = false;
          if (this.#again) void this.#run();
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

  /**
   * A full look asks about everything; a look at some rigs asks only about those rigs, the swarms
   * and the mail; a light one only rebuilds the machines from the registry.
   */
  async #look(what: 'full' | 'light' | string[]): Promise<void> {
    const started = performance.now();
    const rigs = Array.isArray(what) ? what : [];
    const known = rigs.every((rig) => this.#items.has(`rig:${rig}`));
    const full = what === 'full' || !known;
    const items = full
      ? await this.#collect()
      : what === 'light'
        ? await this.#withMachines(new Map(this.#items))
        : await this.#collectRigs(rigs);
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
    const opt = this.#callOptions();
    const items = new Map<string, FeedItem>();
    const [status] = await Promise.all([c.getStatus({}, opt), this.#collectShared(items)]);
    await Promise.all(
      status.rigs.map((rigStatus) =>
        this.#collectRig(
          items,
          rigStatus.rig?.name ?? '',
          create(DashboardRigSchema, { status: rigStatus }),
        ),
      ),
    );
    return this.#withMachines(items);
  }

  /** The current items with `rigs` (their polecats and merge queues), swarms and mail afresh. */
  async #collectRigs(rigs: string[]): Promise<Map<string, FeedItem>> {
    const items = new Map(this.#items);
    await Promise.all([
      this.#collectShared(items),
      ...rigs.map((rig) =>
        this.#collectRig(items, rig, this.#items.get(`rig:${rig}`)?.value as DashboardRig),
      ),
    ]);
    return this.#withMachines(items);
  }

  /** Swarms and the Mayor's and the Overseer's unread mail, in place of those in `items`. */
  async #collectShared(items: Map<string, FeedItem>): Promise<void> {
    const c = this.#o.client;
    const opt = this.#callOptions();
    const [swarms, mayor, overseer] = await Promise.all([
      c.listSwarms({ id: '', rig: '' }, opt).catch(() => undefined),
      c.listMail({ address: 'mayor', unreadOnly: true }, opt).catch(() => undefined),
      c.listMail({ address: 'overseer', unreadOnly: true }, opt).catch(() => undefined),
    ]);
    if (swarms !== undefined) {
      dropKind(items, 'swarm');
      for (const swarm of swarms.swarms) put(items, 'swarm', swarm.id, swarm);
    }
    if (mayor !== undefined && overseer !== undefined) {
      dropKind(items, 'mail');
      for (const m of [...mayor.messages, ...overseer.messages])
        put(items, 'mail', `${m.to}/${m.id}`, m);
    }
  }

  /** One rig's merge queue and polecats, in place of its old ones (its status as given). */
  async #collectRig(items: Map<string, FeedItem>, rig: string, base: DashboardRig): Promise<void> {
    if (rig === '') return;
    const c = this.#o.client;
    const opt = this.#callOptions();
    const machine = base.status?.rig?.machine ?? '';
    const [polecats, queue] = await Promise.all([
      c.listPolecats({ rig }, opt).catch(() => undefined),
      c.listMergeQueue({ rig }, opt).catch(() => undefined),
    ]);
    const mergeQueue = queue ?? base.mergeQueue;
    put(
      items,
      'rig',
      rig,
      create(DashboardRigSchema, {
        ...(base.status === undefined ? {} : { status: base.status }),
        ...(mergeQueue === undefined ? {} : { mergeQueue }),
      }),
    );
    if (polecats === undefined) return;
    dropKind(items, 'polecat', (v) => (v as DashboardPolecat).rig === rig);
    for (const info of polecats.polecats)
      put(
        items,
        'polecat',
        `${rig}/${info.status?.name ?? ''}`,
        create(DashboardPolecatSchema, { rig, machine, info }),
      );
  }

  #callOptions(): { timeoutMs: number } {
    return { timeoutMs: this.#o.callTimeoutMs ?? 5_000 };
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

function put(
  items: Map<string, FeedItem>,
  kind: FeedKind,
  key: string,
  value: FeedItem['value'],
): void {
  const k = `${kind}:${key}`;
  items.set(k, { kind, key: k, value, json: toJsonString(SCHEMA[kind], value as never) });
}

function dropKind(
  items: Map<string, FeedItem>,
  kind: FeedKind,
  which: (value: FeedItem['value']) => boolean = () => true,
): void {
  for (const [key, item] of items) if (item.kind === kind && which(item.value)) items.delete(key);
}
