/**
 * `gt swarm start` over the fleet: the rig's home picks the issues and writes the swarm down
 * (record_only), placement spreads one polecat per issue over the machines with room (most free
 * room first, so the work is spread rather than stacked), each is spawned where it was placed,
 * and the home records who runs what where. Machines left out (full, draining, unreachable, not
 * matching --machines / --label) are named in the swarm's notes; issues no machine had room for
 * are recorded as not dispatched, with the reason — or, while an elastic swarm's machines are
 * being created (keep_waiting), left waiting; a later call naming the swarm places the waiting
 * ones on the machines that came up since.
 */
import {
  GtError,
  passThrough,
  type CallContext,
  type MessageInitShape,
  type MessageShape,
  type SpawnResponseSchema,
  type SwarmDispatchSchema,
  type SwarmInfoSchema,
  type SwarmStartRequestSchema,
  type SpawnRequestSchema,
} from '../proto/index.js';
import type { FleetDirectory } from './directory.js';
import { asGtError } from './fan-out.js';
import type { MachineRegistry } from './machines.js';
import type { Placement, Room } from './placement.js';

type SwarmStartRequest = MessageShape<typeof SwarmStartRequestSchema>;
type SwarmInfo = MessageInitShape<typeof SwarmInfoSchema>;
type Dispatch = MessageInitShape<typeof SwarmDispatchSchema>;

export interface SwarmSpreadOptions {
  registry: MachineRegistry;
  directory: FleetDirectory;
  placement: Placement;
  spawn: (
    req: MessageInitShape<typeof SpawnRequestSchema>,
    ctx: CallContext,
  ) => Promise<MessageInitShape<typeof SpawnResponseSchema>>;
}

/** Whether the request asks for placement over the fleet (or the fleet has more than one machine). */
export function wantsSpread(req: SwarmStartRequest, machines: number): boolean {
  return (
    req.byRoom ||
    req.swarm !== '' ||
    req.machines.length > 0 ||
    req.labels.length > 0 ||
    req.maxPerMachine > 0 ||
    machines > 1
  );
}

/** Assign issues to machines: each to the machine with the most room left (the home on a tie). */
export function spread(issues: string[], rooms: Room[], home: string): Map<string, string> {
  const left = new Map(rooms.map((r) => [r.machine, r.free]));
  const plan = new Map<string, string>();
  for (const issue of issues) {
    let best: string | undefined;
    for (const [m, free] of left) {
      if (free <= 0) continue;
      const bestFree = best === undefined ? -1 : (left.get(best) ?? 0);
      if (free > bestFree || (free === bestFree && m === home)) best = m;
    }
    if (best === undefined) break;
    plan.set(issue, best);
    left.set(best, (left.get(best) ?? 0) - 1);
  }
  return plan;
}

/** A new swarm written down by the home (record_only), or the waiting issues of an existing one. */
async function swarmToPlace(
  homeAgent: Awaited<ReturnType<MachineRegistry['connect']>>['client'],
  req: SwarmStartRequest,
  ctx: CallContext,
): Promise<{ id: string; issues: string[] }> {
  if (req.swarm === '') {
    const record = await homeAgent.startSwarm({ ...req, recordOnly: true }, passThrough(ctx));
    return { id: record.id, issues: record.issues.map((i) => i.issue) };
  }
  const found = (await homeAgent.listSwarms({ id: req.swarm, rig: req.rig }, passThrough(ctx)))
    .swarms[0];
  if (found === undefined || found.rig !== req.rig)
    throw new GtError('GT_NOT_FOUND', `no swarm ${req.swarm} on ${req.rig}`, {
      hint: 'see the swarms with `gt swarm list`',
    });
  // A cancelled or complete swarm takes no more polecats.
  const open = found.state === 'active';
  return {
    id: found.id,
    issues: open
      ? found.issues.filter((i) => i.polecat === '' && i.error === '').map((i) => i.issue)
      : [],
  };
}

async function spawnPlanned(
  o: SwarmSpreadOptions,
  req: SwarmStartRequest,
  ctx: CallContext,
  p: { issues: string[]; plan: Map<string, string>; home: string },
): Promise<Dispatch[]> {
  const dispatched: Dispatch[] = [];
  for (const issue of p.issues) {
    const machine = p.plan.get(issue);
    if (machine === undefined) {
      // Waiting for a machine being created: left as it is, placed by a later call.
      if (!req.keepWaiting) dispatched.push({ issue, error: 'no machine had room for it' });
      continue;
    }
    try {
      const r = await o.spawn({ rig: req.rig, issue, machine, agent: req.agent, name: '' }, ctx);
      dispatched.push({
        issue,
        polecat: r.polecat ?? '',
        address: r.address ?? '',
        epoch: r.epoch ?? 0n,
        branch: r.branch ?? '',
        session: r.session ?? '',
        machine: machine === p.home ? '' : machine,
      });
    } catch (err) {
      dispatched.push({ issue, error: `on ${machine}: ${asGtError(err).message}` });
    }
  }
  return dispatched;
}

export async function startSpreadSwarm(
  o: SwarmSpreadOptions,
  req: SwarmStartRequest,
  ctx: CallContext,
): Promise<SwarmInfo> {
  const home = await o.directory.rigHome(req.rig, ctx.signal);
  const homeAgent = (await o.registry.connect(home)).client;
  const survey = await o.placement.survey(
    {
      ...(req.machines.length > 0 ? { machines: req.machines } : {}),
      ...(req.labels.length > 0 ? { labels: req.labels } : {}),
      ...(req.maxPerMachine > 0 ? { maxPerMachine: req.maxPerMachine } : {}),
    },
    ctx.signal,
  );
  if (survey.rooms.length === 0 && req.swarm === '' && !req.keepWaiting)
    throw new GtError(
      'GT_CONFLICT',
      `no machine has room for the swarm: ${survey.skipped.map((s) => `${s.machine} ${s.reason}`).join('; ') || 'no machines match'}`,
      {
        hint: 'wait for polecats to finish (`gt status`), pick other machines, or add one with `gt machine add`',
      },
    );
  const swarm = await swarmToPlace(homeAgent, req, ctx);
  const plan = spread(swarm.issues, survey.rooms, home);
  const dispatched = await spawnPlanned(o, req, ctx, { issues: swarm.issues, plan, home });
  const info = await homeAgent.recordSwarmDispatch(
    { rig: req.rig, id: swarm.id, dispatched },
    passThrough(ctx),
  );
  const machineOf = new Map(dispatched.map((d) => [d.issue, d.machine === '' ? home : d.machine]));
  return {
    ...info,
    issues: info.issues.map((i) => ({
      ...i,
      machine:
        i.machine !== '' ? i.machine : i.polecat === '' ? '' : (machineOf.get(i.issue) ?? home),
    })),
    notes: survey.skipped.map((s) => `skipped ${s.machine}: ${s.reason}`),
  };
}
