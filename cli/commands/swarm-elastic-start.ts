/**
 * `gt swarm start … --grow gcp:TEMPLATE`: the swarm starts as soon as there is room — at once when
 * the fleet has some, else when the first grown machine is up — with the issues nothing has room
 * for yet left waiting (keep_waiting). Each grown machine gets its polecats the moment it is
 * provisioned, while the others are still being created (`gt swarm status` shows both). When all
 * are up or failed, the issues still waiting are placed wherever there is room, or recorded as not
 * dispatched, with the reason.
 */
import type { SwarmInfo } from '../../proto/index.js';
import { err } from '../output.js';
import { withCoordinator, type CommandOptions } from './context.js';
import type { GrowRequest } from './swarm-grow.js';

export interface ElasticRequest {
  rig: string;
  issues: string[];
  ready: number;
  max: number;
  agent: string;
  machines: string[];
  labels: string[];
  maxPerMachine: number;
}

const waiting = (s: SwarmInfo): number =>
  s.issues.filter((i) => i.polecat === '' && i.error === '').length;

/** Places a swarm's polecats machine by machine, one placement at a time. */
class GrowingSwarm {
  readonly #opts: CommandOptions;
  readonly #req: ElasticRequest;
  #chain: Promise<void> = Promise.resolve();
  #info: SwarmInfo | undefined;
  #error: unknown;
  readonly #up: string[] = [];
  readonly #marked = new Set<string>();

  constructor(opts: CommandOptions, req: ElasticRequest) {
    this.#opts = opts;
    this.#req = req;
  }

  /** Place what fits: on the fleet (no machine named), or on a grown machine just up. */
  place(machine: string | undefined): void {
    if (machine !== undefined) this.#up.push(machine);
    this.#chain = this.#chain
      .then(() => (this.#error === undefined ? this.#placeOnce(machine, true) : undefined))
      .catch((e: unknown) => {
        this.#error ??= e;
      });
  }

  async #placeOnce(machine: string | undefined, keepWaiting: boolean): Promise<void> {
    await withCoordinator(this.#opts, async ({ client }, townRoot) => {
      const base = { ...this.#req, byRoom: true, keepWaiting };
      const prior = this.#info;
      const also = this.#req.machines.length > 0 ? [...this.#req.machines, ...this.#up] : [];
      const info =
        prior === undefined
          ? await client.startSwarm({ ...base, machines: also })
          : waiting(prior) > 0
            ? await client.startSwarm({
                ...base,
                swarm: prior.id,
                machines: machine !== undefined ? [machine] : also,
              })
            : prior;
      this.#info = info;
      const id = info.id;
      const fresh = this.#up.filter((m) => !this.#marked.has(m));
      const { markGrown } = await import('./swarm-grow.js');
      await markGrown(townRoot, fresh, id);
      for (const m of fresh) this.#marked.add(m);
      if (this.#opts.json !== true && machine !== undefined)
        err(`  [${machine}] polecats placed (swarm ${id}, ${waiting(info)} issue(s) waiting)`);
    });
  }

  /** All machines up or failed: start (if nothing had room yet) or place what still waits. */
  async finish(grown: string[]): Promise<SwarmInfo> {
    await this.#chain;
    try {
      if (this.#error !== undefined) throw this.#error;
      const info = this.#info;
      if (info === undefined || waiting(info) > 0) await this.#placeOnce(undefined, false);
      if (this.#info === undefined) throw new Error('the swarm did not start');
      return this.#info;
    } catch (e) {
      // The swarm did not start: its grown machines go when their shrink time is up.
      const { markGrown } = await import('./swarm-grow.js');
      const { resolveTownRoot } = await import('../town-root.js');
      if (this.#info === undefined)
        await markGrown(resolveTownRoot(this.#opts.town), grown, '-').catch(() => undefined);
      throw e;
    }
  }
}

/** The swarm started over the fleet and the machines grown for it, placed as each comes up. */
export async function startElasticSwarm(
  opts: CommandOptions,
  g: GrowRequest,
  req: ElasticRequest,
): Promise<SwarmInfo> {
  const grow = await import('./swarm-grow.js');
  const plan = await grow.planGrow(opts, g, req);
  const swarm = new GrowingSwarm(opts, req);
  if (plan.count === 0) {
    const info = await swarm.finish([]);
    info.notes.push(plan.note);
    return info;
  }
  if (opts.json !== true) err(plan.note);
  // The room the fleet has now is used now; the grown machines' room as each comes up.
  if (plan.room > 0) swarm.place(undefined);
  const r = await grow.growMachines(
    plan.townRoot,
    g,
    plan.template,
    plan.count,
    opts.json === true,
    (name) => swarm.place(name),
  );
  for (const f of r.failed) err(`warning: could not grow ${f.name}: ${f.error}`);
  const info = await swarm.finish(r.grown);
  info.notes.push(...grow.growNotes(g, r));
  return info;
}
