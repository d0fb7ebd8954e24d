/**
 * The coordinator's spawn and done: a spawn goes to the machine placement picks (or `--machine`
 * names) — the rig's home as before, or another machine through `spawnOnOtherMachine`; a done
 * answered by a machine that does not home the rig hands the merge request to the home
 * (`handOverMerge`). With one machine both are the plain forwarded calls.
 */
import {
  DoneResponseSchema,
  ReleaseIssueResponseSchema,
  PatrolActionSchema,
  SpawnRequestSchema,
  WitnessPatrolResponseSchema,
  passThrough,
  GtError,
  create,
  parseAddress,
  type CallContext,
  type Coordinator,
  type ImplOf,
} from '../proto/index.js';
import type { FleetDirectory } from './directory.js';
import { asGtError } from './fan-out.js';
import { readFederation } from './federation.js';
import type { MachineRegistry } from './machines.js';
import { handOverMerge } from './merge-handover.js';
import type { Outbox } from './outbox.js';
import { Placement, noRoom, polecatName, spawnOnOtherMachine } from './placement.js';
import { startSpreadSwarm, wantsSpread } from './swarm-spread.js';

type CoordinatorImpl = ImplOf<typeof Coordinator>;

export interface PlacedWorkOptions {
  townRoot: string;
  registry: MachineRegistry;
  directory: FleetDirectory;
  outbox: Outbox;
  forwarded: Pick<
    CoordinatorImpl,
    'spawn' | 'done' | 'witnessPatrol' | 'startSwarm' | 'listPolecats' | 'releaseIssue'
  >;
  timeoutMs: number;
}

type PlacedMethods = Pick<
  CoordinatorImpl,
  'spawn' | 'done' | 'witnessPatrol' | 'startSwarm' | 'listPolecats' | 'releaseIssue'
>;

/** Give a released satellite polecat's issue back on its rig's home (or say why it could not). */
async function returnOnHome(
  o: PlacedWorkOptions,
  at: { home: string; ranOn: string; res: { address: string; issue: string } },
  ctx: CallContext,
): Promise<{ returned: boolean; detail: string }> {
  const { home, ranOn, res } = at;
  const rig = res.address.split('/')[0] ?? '';
  try {
    return await (
      await o.registry.connect(home)
    ).client.returnIssue(
      {
        rig,
        issue: res.issue,
        holder: res.address,
        note: `${new Date().toISOString()}: given back by \`gt release ${res.address}\` (the polecat ran on machine ${ranOn})`,
      },
      passThrough(ctx),
    );
  } catch (err) {
    const e = asGtError(err);
    o.registry.noteFailure(home, e);
    throw new GtError(
      e.code,
      `${res.address} on ${ranOn} is idle now, but ${res.issue} stays claimed on rig ${rig}'s home ${home}: ${e.message}`,
      {
        hint: `once ${home} answers, \`gt doctor --fix\` gives back claims no polecat works on`,
        cause: err,
      },
    );
  }
}

export function placedWork(o: PlacedWorkOptions): PlacedMethods & { placement: Placement } {
  const { registry, directory } = o;
  const placement = new Placement({
    registry,
    directory,
    readFederation: () => readFederation(o.townRoot).catch(() => undefined),
    timeoutMs: o.timeoutMs,
  });
  /** Machines that declined a loop's patrol: their node agent patrols its polecats itself. */
  const ownLoops = new Set<string>();
  /** rig → polecat names picked for spawns that have not finished yet. */
  const naming = new Map<string, Set<string>>();
  const methods: PlacedMethods = {
    /** A rig's polecats on every machine running them (`machine:rig`: that machine's only). */
    async listPolecats(req, ctx: CallContext) {
      const { machine: home, rig } = await directory.routeRig(req.rig, ctx.signal);
      const asked = req.rig.includes(':') || registry.names().length === 1 ? [home] : undefined;
      if (asked === undefined) await directory.ensureListed(ctx.signal);
      const machines = asked ?? [
        home,
        ...directory.machinesWithPolecats(rig).filter((m) => m !== home),
      ];
      const lists = await Promise.all(
        machines.map(async (m) => {
          const r = await (
            await registry.connect(m)
          ).client.listPolecats({ rig }, passThrough(ctx));
          return r.polecats.map((p) => ({ ...p, machine: m }));
        }),
      );
      return { polecats: lists.flat() };
    },
    async spawn(request, ctx: CallContext) {
      // `machine:rig` says where, as --machine does.
      const colon = request.rig.indexOf(':');
      const req =
        colon < 0
          ? request
          : {
              ...request,
              rig: request.rig.slice(colon + 1),
              machine: request.machine === '' ? request.rig.slice(0, colon) : request.machine,
            };
      if (colon >= 0 && req.machine !== request.rig.slice(0, colon))
        throw new GtError(
          'GT_USAGE',
          `"${request.rig}" and --machine ${req.machine} name two machines`,
          { hint: 'name the machine once' },
        );
      if (req.machine === '' && registry.names().length === 1) return o.forwarded.spawn(req, ctx);
      if (req.machine !== '' && !registry.has(req.machine))
        throw new GtError('GT_MACHINE_UNKNOWN', `no machine named "${req.machine}"`, {
          hint: `known machines: ${registry.names().join(', ')}`,
        });
      const home = await directory.rigHome(req.rig, ctx.signal);
      let target = req.machine;
      if (target === '') target = await placement.pick(home, {}, ctx.signal);
      else {
        const survey = await placement.survey({ machines: [target] }, ctx.signal);
        if (survey.rooms.length === 0) throw noRoom(survey);
      }
      // Several machines: the coordinator names the polecat, so `<rig>/<name>` is one polecat.
      // The name is held from the pick until the spawn ends, so two spawns at once (a swarm, two
      // Overseers' commands through the daemon) never give one name to two polecats.
      const taken = naming.get(req.rig) ?? new Set<string>();
      naming.set(req.rig, taken);
      const name =
        req.name !== ''
          ? req.name
          : await polecatName({ registry, directory }, target, req.rig, ctx, taken);
      if (taken.has(name))
        throw new GtError('GT_CONFLICT', `polecat ${req.rig}/${name} is being spawned right now`, {
          hint: 'wait for that spawn to finish, or leave out --name',
        });
      taken.add(name);
      try {
        if (target === home)
          return { ...(await o.forwarded.spawn({ ...req, name }, ctx)), machine: home };
        return await spawnOnOtherMachine(
          { registry, directory },
          { ...req, name },
          home,
          target,
          ctx,
        );
      } finally {
        taken.delete(name);
      }
    },
    async startSwarm(req, ctx: CallContext) {
      if (!wantsSpread(req, registry.names().length)) return o.forwarded.startSwarm(req, ctx);
      return startSpreadSwarm(
        {
          registry,
          directory,
          placement,
          spawn: (r, c) => methods.spawn(create(SpawnRequestSchema, r), c),
        },
        req,
        ctx,
      );
    },
    async done(req, ctx: CallContext) {
      const res = create(DoneResponseSchema, await o.forwarded.done(req, ctx));
      if (registry.names().length === 1) return res;
      const route = await directory.route(req.address, ctx.signal);
      const address = parseAddress(route.address);
      if (address.rig === undefined) return res;
      const home = await directory.rigHome(address.rig, ctx.signal);
      if (route.machine === home) return res;
      const handed = await handOverMerge(
        o.outbox,
        { rig: address.rig, polecat: address.name ?? '', home, ranOn: route.machine, done: res },
        ctx.signal,
      );
      return {
        ...res,
        queueRecord:
          handed.state === 'delivered'
            ? `${address.rig}/refinery/queue/${res.issue}.json on ${home}`
            : `queued: ${handed.detail}`,
      };
    },
    /**
     * `gt release`: the polecat's own machine checks it may be released and makes it idle; a
     * polecat on a satellite then has its claim given back on the rig's home, where the one
     * beads database is (the satellite has none to change).
     */
    async releaseIssue(req, ctx: CallContext) {
      const res = create(ReleaseIssueResponseSchema, await o.forwarded.releaseIssue(req, ctx));
      if (registry.names().length === 1) return res;
      const route = await directory.route(req.address, ctx.signal);
      const rig = parseAddress(route.address).rig;
      if (rig === undefined) return res;
      const home = await directory.rigHome(rig, ctx.signal);
      if (route.machine === home) return res;
      const back = await returnOnHome(o, { home, ranOn: route.machine, res }, ctx);
      return { ...res, released: back.returned };
    },
    /**
     * The Witness patrol of a rig: on its home, and on every machine running polecats of it (the
     * mechanical patrol needs the polecat's own tmux and clone); one report. A loop's request
     * (`loop`) is declined by each machine whose node agent patrols there itself (`ownLoops`).
     */
    async witnessPatrol(req, ctx: CallContext) {
      const res = create(WitnessPatrolResponseSchema, await o.forwarded.witnessPatrol(req, ctx));
      if (registry.names().length === 1) return res;
      await directory.ensureListed(ctx.signal);
      const home = await directory.rigHome(req.rig, ctx.signal);
      const others = directory.machinesWithPolecats(req.rig).filter((m) => m !== home);
      const reports = await Promise.all(
        others.map(async (m) => {
          try {
            const { client } = await registry.connect(m);
            return await client.witnessPatrol({ rig: req.rig, loop: req.loop }, passThrough(ctx));
          } catch (err) {
            const e = asGtError(err);
            registry.noteFailure(m, e);
            // Out of reach but patrolling itself: nothing went unchecked.
            if (req.loop && ownLoops.has(m)) return { polecats: 0, actions: [], ownLoops: [m] };
            const detail = `machine ${m} could not patrol its polecats: ${e.message}`;
            return {
              polecats: 0,
              actions: [{ address: `${m}:${req.rig}`, kind: 'unchecked', detail }],
            };
          }
        }),
      );
      for (const [i, r] of reports.entries()) {
        const declined = 'ownLoops' in r ? (r.ownLoops ?? []) : [];
        // What a loop's request learnt: the machine patrols itself, or (answering) no more.
        const m = others[i];
        if (req.loop && m !== undefined && !r.actions.some((a) => a.kind === 'unchecked'))
          if (declined.includes(m)) ownLoops.add(m);
          else ownLoops.delete(m);
        res.ownLoops.push(...declined);
        res.polecats += r.polecats;
        res.actions.push(...r.actions.map((a) => create(PatrolActionSchema, a)));
      }
      return res;
    },
  };
  return { ...methods, placement };
}
