/**
 * Elastic swarms give back what they grew: a machine an elastic swarm grew
 * (federation.json `grown`, with `shrink_after_s`) is deleted once its swarm is no longer active
 * and it has run no polecat for that long — measured from the later of the swarm's end and the
 * last time this coordinator saw a polecat session there. Never while it homes a rig, runs a
 * session, or holds a polecat whose work is not handed over (working, stuck, or an unreadable
 * state) or not saved on origin — judged from git in the polecat's clone on that machine
 * (uncommitted or untracked files, commits no remote-tracking branch contains, stashes): those
 * are kept and say why. A machine kept only for unsaved work after its swarm is over is named to
 * the Mayor (one mail per machine and swarm). Deleting: drained, removed from federation.json, then the
 * instance is deleted; the ledger (config/grown-machines.json) gets its end time, and when a
 * swarm's last grown machine goes, the Mayor gets its machine-minutes.
 */
import {
  GtError,
  errorMessage,
  newMailId,
  parseAddress,
  type MessageInitShape,
  type ShrinkGrownMachineSchema,
  type SwarmInfo,
} from '../proto/index.js';
import { readFederation, updateFederation, type Machine } from './federation.js';
import { readLedger, swarmMachineMinutes, updateLedger } from './grown-ledger.js';
import { askEach } from './fan-out.js';
import type { MachineRegistry } from './machines.js';
import type { ComputeApi } from './gcp/index.js';

type Outcome = MessageInitShape<typeof ShrinkGrownMachineSchema>;
type AgentClient = Awaited<ReturnType<MachineRegistry['connect']>>['client'];

/** Why a held reason: unsaved work keeps a machine past its swarm's end, and the Mayor hears it. */
interface BusyReason {
  reason: string;
  unsaved: boolean;
}
type GcpMachine = Extract<Machine, { type: 'gcp' }>;

export interface ShrinkOptions {
  townRoot: string;
  registry: MachineRegistry;
  /** The swarm with this id, wherever it is recorded; undefined when no machine knows it. */
  swarm: (id: string, signal?: AbortSignal) => Promise<SwarmInfo | undefined>;
  compute: () => Promise<ComputeApi>;
  timeoutMs: number;
  now?: () => number;
}

export class GrownShrinker {
  readonly #o: ShrinkOptions;
  /** The last time a polecat session was seen on each grown machine. */
  readonly #busy = new Map<string, number>();
  /** Machines the last pass kept only for unsaved work after their swarm was over → swarm. */
  readonly #held = new Map<string, string>();

  constructor(options: ShrinkOptions) {
    this.#o = options;
  }

  async pass(dryRun: boolean, signal?: AbortSignal): Promise<Outcome[]> {
    const fed = await readFederation(this.#o.townRoot).catch(() => undefined);
    if (fed === undefined) return [];
    this.#o.registry.addNew(fed.machines);
    const grown = Object.entries(fed.machines).flatMap(([name, m]) =>
      m.type === 'gcp' && m.grown !== undefined ? [{ name, machine: m }] : [],
    );
    const out: Outcome[] = [];
    this.#held.clear();
    for (const g of grown) out.push(await this.#one(g.name, g.machine, dryRun, signal));
    return out;
  }

  /** The machines the last pass kept only for unsaved work after their swarm was over. */
  heldForWork(): ReadonlyMap<string, string> {
    return this.#held;
  }

  async #one(name: string, m: GcpMachine, dryRun: boolean, signal?: AbortSignal): Promise<Outcome> {
    const grown = m.grown;
    const base = { name, swarm: grown?.swarm ?? '' };
    const kept = (reason: string): Outcome => ({ ...base, outcome: 'kept', reason });
    if (grown === undefined) return kept('not grown');
    const now = (this.#o.now ?? Date.now)();
    const why = await this.#busyReason(name, now, signal);
    if (why !== undefined) {
      if (!why.unsaved || grown.shrink_after_s === undefined || grown.swarm === '')
        return kept(why.reason);
      const swarm = await this.#o.swarm(grown.swarm, signal);
      if (swarm?.state === 'active') return kept(why.reason);
      this.#held.set(name, grown.swarm);
      return kept(`${why.reason}; swarm ${grown.swarm} is over: kept until it is pushed`);
    }
    if (grown.shrink_after_s === undefined) return kept('no --shrink-after: kept until removed');
    if (grown.swarm === '') return kept('its swarm is being started');
    const swarm = await this.#o.swarm(grown.swarm, signal);
    if (swarm?.state === 'active') return kept(`swarm ${grown.swarm} is active`);
    const since = Math.max(
      Date.parse(swarm?.finishedAt ?? '') || 0,
      Date.parse(m.created_at ?? '') || 0,
      this.#busy.get(name) ?? 0,
    );
    const idle = Math.floor((now - since) / 1000);
    if (idle < grown.shrink_after_s)
      return kept(`idle ${idle}s of ${grown.shrink_after_s}s after swarm ${grown.swarm} ended`);
    if (dryRun) return { ...base, outcome: 'due', reason: `idle ${idle}s` };
    return this.#delete(name, m, grown.swarm);
  }

  /** Why the machine must stay (rig homed, live session, work not handed over or not pushed). */
  async #busyReason(
    name: string,
    now: number,
    signal?: AbortSignal,
  ): Promise<BusyReason | undefined> {
    const sig = AbortSignal.any([
      AbortSignal.timeout(this.#o.timeoutMs),
      ...(signal === undefined ? [] : [signal]),
    ]);
    const busy = (reason: string): BusyReason => ({ reason, unsaved: false });
    try {
      const { client } = await this.#o.registry.connect(name);
      const rigs = await client.listRigs({}, { signal: sig });
      if (rigs.rigs.length > 0)
        return busy(`homes rig(s) ${rigs.rigs.map((r) => r.name).join(', ')}`);
      const { sessions } = await client.listSessions({ rig: '' }, { signal: sig });
      const polecats = sessions.filter((s) => {
        try {
          return parseAddress(s.address).role === 'polecat';
        } catch {
          return false;
        }
      });
      if (polecats.length > 0) {
        this.#busy.set(name, now);
        return busy(`runs ${polecats.map((s) => s.address).join(', ')}`);
      }
      if (sessions.length > 0)
        return busy(`runs session(s) ${sessions.map((s) => s.name).join(', ')}`);
      const unsaved: string[] = [];
      for (const rig of rigs.satellites) unsaved.push(...(await unsavedWork(client, rig, sig)));
      if (unsaved.length > 0)
        return { reason: `unpushed work: ${unsaved.join('; ')}`, unsaved: true };
      return undefined;
    } catch (err) {
      return busy(`cannot be asked (${errorMessage(err)}): kept until it answers`);
    }
  }

  async #delete(name: string, m: GcpMachine, swarm: string): Promise<Outcome> {
    const base = { name, swarm };
    const ref = { project: m.project, zone: m.zone, instance: m.instance };
    const deletedAt = new Date((this.#o.now ?? Date.now)()).toISOString();
    try {
      await updateFederation(this.#o.townRoot, (f) => {
        const { [name]: _gone, ...rest } = f.machines;
        return { ...f, machines: rest };
      });
      await this.#o.registry.remove(name);
      this.#busy.delete(name);
      const api = await this.#o.compute();
      try {
        await api.waitForOperation(ref, await api.deleteInstance(ref));
      } finally {
        await api.close();
      }
    } catch (err) {
      const gone = err instanceof GtError && err.code === 'GT_NOT_FOUND';
      if (!gone)
        return {
          ...base,
          outcome: 'failed',
          reason: `${errorMessage(err)}; it is out of config/federation.json: delete the instance with \`gcloud compute instances delete ${m.instance} --zone ${m.zone} --project ${m.project}\``,
        };
    } finally {
      await updateLedger(this.#o.townRoot, (rs) =>
        rs.map((r) =>
          r.name === name && r.deleted_at === undefined ? { ...r, deleted_at: deletedAt } : r,
        ),
      ).catch(() => undefined);
    }
    const used = swarmMachineMinutes(await readLedger(this.#o.townRoot), swarm);
    return { ...base, outcome: 'deleted', reason: '', machineMinutes: used.minutes };
  }
}

/**
 * What the polecats of a satellite rig hold that is not on origin: a state not handed over
 * (working, stuck, …) and, from git in each clone, uncommitted or untracked files, commits no
 * remote-tracking branch contains, stashes. A polecat without a clone holds nothing.
 */
async function unsavedWork(
  client: AgentClient,
  rig: string,
  signal: AbortSignal,
): Promise<string[]> {
  const { polecats } = await client.listPolecats({ rig }, { signal });
  const out: string[] = [];
  for (const p of polecats) {
    const address = p.status?.address || `${rig}/${p.status?.name ?? '?'}`;
    const state = p.status?.state ?? 'unknown';
    const held = ['idle', 'done'].includes(state) ? [] : [`${state}, not handed over`];
    try {
      const g = await client.getGitState({ address }, { signal });
      if (g.unpushedCommits.length > 0)
        held.push(`${g.unpushedCommits.length} commit(s) not on origin`);
      if (g.dirtyFiles.length > 0)
        held.push(`${g.dirtyFiles.length} uncommitted or untracked file(s)`);
      if (g.stashes > 0) held.push(`${g.stashes} stash entr(ies)`);
    } catch (err) {
      const code = err instanceof GtError ? err.code : '';
      if (code !== 'GT_NOT_FOUND' && code !== 'GT_AGENT_NOT_FOUND')
        held.push(`its clone could not be read (${errorMessage(err)})`);
    }
    if (held.length > 0) out.push(`${address} (${held.join(', ')})`);
  }
  return out;
}

/** The Mayor's mail when a grown machine outlives its swarm for unpushed work (one per machine). */
export function heldMail(machine: string, swarm: string, reason: string) {
  return {
    ...shrinkMail(swarm, 0, 0),
    id: `shrink-held-${machine}-${swarm}`,
    subject: `grown machine ${machine} kept: unpushed work`,
    body: `Swarm ${swarm} is over, but machine ${machine} is not deleted: ${reason}. Push or discard that work (see \`gt polecats <rig>\`); it is deleted once nothing is left and its idle time is up. See \`gt machine shrink --dry-run\`.`,
    type: 'escalation',
  };
}

/** The Mayor's mail when a swarm's last grown machine is gone: how many machine-minutes it used. */
export function shrinkMail(swarm: string, machines: number, minutes: number) {
  return {
    id: newMailId(),
    from: 'overseer',
    to: 'mayor',
    subject: `swarm ${swarm}: grown machines deleted, ${minutes} machine-minutes`,
    body: `Swarm ${swarm} is complete; the ${machines} machine(s) it grew are deleted. Machine-minutes used: ${minutes} (each machine from its creation to its deletion, rounded up). See \`gt swarm status ${swarm}\`.`,
    createdAt: new Date().toISOString(),
    priority: 'normal',
    type: 'notice',
    threadId: '',
    replyTo: '',
    read: false,
  };
}

/** The ShrinkGrown rpc: one pass; the Mayor hears of every swarm whose grown machines are all gone. */
export function shrinkGrownMethod(
  shrinker: GrownShrinker,
  townRoot: string,
  deliver: (message: ReturnType<typeof shrinkMail>) => Promise<void>,
) {
  return async (req: { dryRun: boolean }, ctx: { signal: AbortSignal }) => {
    const machines = await shrinker.pass(req.dryRun, ctx.signal);
    if (!req.dryRun)
      for (const [machine, swarm] of shrinker.heldForWork()) {
        const reason = machines.find((m) => m.name === machine)?.reason ?? '';
        await deliver(heldMail(machine, swarm, reason)).catch(() => undefined);
      }
    const fed = await readFederation(townRoot).catch(() => undefined);
    const left = new Set(
      Object.values(fed?.machines ?? {}).flatMap((m) =>
        m.type === 'gcp' && m.grown !== undefined ? [m.grown.swarm] : [],
      ),
    );
    const ledger = await readLedger(townRoot).catch(() => []);
    const done = new Set(
      machines
        .filter((m) => m.outcome === 'deleted' && !left.has(m.swarm ?? ''))
        .map((m) => m.swarm ?? ''),
    );
    for (const swarm of done) {
      const used = swarmMachineMinutes(ledger, swarm);
      await deliver(shrinkMail(swarm, used.machines, used.minutes)).catch(() => undefined);
    }
    return { machines };
  };
}

/** The swarm with `id` on whichever machine records it (the rig's home). */
export async function findSwarm(
  registry: MachineRegistry,
  id: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<SwarmInfo | undefined> {
  const answers = await askEach(
    registry,
    registry.names(),
    (c, s) => c.listSwarms({ id, rig: '' }, { signal: s }),
    {
      timeoutMs,
      ...(signal === undefined ? {} : { signal }),
    },
  );
  return answers.flatMap((a) => a.value?.swarms ?? []).find((s) => s.id === id);
}
