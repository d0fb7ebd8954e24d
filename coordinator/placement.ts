/**
 * Placement: which machine runs a new polecat, and the spawn of a polecat on a machine that does
 * not home its rig (DESIGN.md §6). A machine's room is its `max_polecats` (federation.json; no cap
 * when unset) minus the polecat sessions it runs now, asked of the machine itself. A single spawn
 * stays on the rig's home while the home has room (no clone over the network, no relayed bd);
 * otherwise, and for `--machine`, the polecat goes where it is sent. Draining machines, machines
 * outside `--machines` / `--label`, and machines that cannot be asked are skipped, and the error
 * when nothing is left says why for each.
 *
 * A spawn on another machine: the rig's git_url and default branch come from the home; the
 * coordinator names the polecat (unique for the rig fleet-wide), claims the issue on the home
 * (the rig's one beads database, so the claim is atomic fleet-wide), then asks the target to
 * make the rig's satellite, clone from origin and start the agent. A failed spawn gives the claim
 * back (unless the agent lives on, stuck: then the Witness and `gt status` handle it as on one
 * machine).
 */
import {
  GtError,
  isGtError,
  nextPoolName,
  parseAddress,
  passThrough,
  type CallContext,
  type MessageShape,
  type SpawnRequestSchema,
  type SpawnResponseSchema,
} from '../proto/index.js';
import type { FleetDirectory } from './directory.js';
import { asGtError } from './fan-out.js';
import type { Federation } from './federation.js';
import type { MachineRegistry, NodeAgentClient } from './machines.js';
import { requireOriginOn } from './origin.js';

type SpawnRequest = MessageShape<typeof SpawnRequestSchema>;
type SpawnResponse = MessageShape<typeof SpawnResponseSchema>;

export interface PlacementOptions {
  registry: MachineRegistry;
  directory: FleetDirectory;
  /** config/federation.json as it is now (drain and caps change under a running daemon). */
  readFederation: () => Promise<Federation | undefined>;
  /** Time each machine gets to say how many polecats it runs. */
  timeoutMs: number;
}

export interface PlaceFilter {
  /** Only these machines (`--machines a,b`). */
  machines?: string[];
  /** Only machines carrying every one of these labels (`--label k=v`). */
  labels?: string[];
  /** At most this many new polecats per machine (`--max-per-machine`). */
  maxPerMachine?: number;
}

/** A machine that could take polecats, and how many more. */
export interface Room {
  machine: string;
  free: number;
  running: number;
  max: number | undefined;
}

export interface RoomSurvey {
  rooms: Room[];
  /** Machines left out, each with the reason ("draining", "full (3/3)", "unreachable: …"). */
  skipped: Array<{ machine: string; reason: string }>;
}

export class Placement {
  readonly #o: PlacementOptions;

  constructor(options: PlacementOptions) {
    this.#o = options;
  }

  /** The room on every eligible machine, asked of the machines in parallel. */
  async survey(filter: PlaceFilter = {}, signal?: AbortSignal): Promise<RoomSurvey> {
    const fed = await this.#o.readFederation();
    if (fed !== undefined) this.#o.registry.addNew(fed.machines);
    const skipped: RoomSurvey['skipped'] = [];
    const unknown = (filter.machines ?? []).filter((m) => !this.#o.registry.has(m));
    if (unknown.length > 0)
      throw new GtError('GT_MACHINE_UNKNOWN', `no machine named ${unknown.join(', ')}`, {
        hint: `known machines: ${this.#o.registry.names().join(', ')}`,
      });
    const names = this.#o.registry.names().filter((m) => {
      const entry = fed?.machines[m];
      if (filter.machines !== undefined && !filter.machines.includes(m)) return false;
      const labels = entry?.labels ?? [];
      const missing = (filter.labels ?? []).filter((l) => !labels.includes(l));
      if (missing.length > 0) {
        skipped.push({ machine: m, reason: `no label ${missing.join(', ')}` });
        return false;
      }
      if (entry?.draining === true) {
        skipped.push({ machine: m, reason: 'draining' });
        return false;
      }
      return true;
    });
    const rooms = await Promise.all(
      names.map(async (machine): Promise<Room | undefined> => {
        try {
          const running = await this.#running(machine, signal);
          const max = fed?.machines[machine]?.max_polecats;
          const cap = Math.min(max ?? Infinity, filter.maxPerMachine ?? Infinity);
          const free = Math.max(0, cap - (filter.maxPerMachine === undefined ? running : 0));
          if (free === 0) {
            skipped.push({ machine, reason: `full (${running}/${max ?? '∞'})` });
            return undefined;
          }
          return { machine, free, running, max };
        } catch (err) {
          skipped.push({ machine, reason: `unreachable: ${asGtError(err).message}` });
          return undefined;
        }
      }),
    );
    return { rooms: rooms.filter((r): r is Room => r !== undefined), skipped };
  }

  /** The machine for one new polecat of a rig homed on `home`: the home while it has room. */
  async pick(home: string, filter: PlaceFilter = {}, signal?: AbortSignal): Promise<string> {
    const survey = await this.survey(filter, signal);
    const homeRoom = survey.rooms.find((r) => r.machine === home);
    if (homeRoom !== undefined) return home;
    const best = [...survey.rooms].sort((a, b) => b.free - a.free)[0];
    if (best !== undefined) return best.machine;
    throw noRoom(survey);
  }

  /** Polecat sessions running on `machine` now. */
  async #running(machine: string, signal?: AbortSignal): Promise<number> {
    const { client } = await this.#o.registry.connect(machine);
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    const s = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const { sessions } = await client.listSessions({ rig: '' }, { signal: s });
    return sessions.filter((x) => {
      try {
        return parseAddress(x.address).role === 'polecat';
      } catch {
        return false;
      }
    }).length;
  }
}

export function noRoom(survey: RoomSurvey): GtError {
  return new GtError(
    'GT_CONFLICT',
    `no machine has room for a polecat: ${survey.skipped.map((s) => `${s.machine} ${s.reason}`).join('; ') || 'no machines match'}`,
    {
      hint: 'wait for polecats to finish (`gt status`), raise max_polecats in config/federation.json, or add a machine with `gt machine add`',
    },
  );
}

export interface RemoteSpawnOptions {
  registry: MachineRegistry;
  directory: FleetDirectory;
}

/** Spawn a polecat of `req.rig` (homed on `home`) on `target`, which does not home it. */
export async function spawnOnOtherMachine(
  o: RemoteSpawnOptions,
  req: SpawnRequest,
  home: string,
  target: string,
  ctx: CallContext,
): Promise<SpawnResponse> {
  const call = passThrough(ctx);
  const homeAgent = (await o.registry.connect(home)).client;
  const rig = (await homeAgent.listRigs({}, call)).rigs.find((r) => r.name === req.rig);
  if (rig === undefined)
    throw new GtError('GT_RIG_NOT_FOUND', `no rig named "${req.rig}" on its home ${home}`, {
      hint: 'see `gt rigs`',
    });
  // Before anything is claimed: the target must reach the rig's origin and be able to push.
  await requireOriginOn(o.registry, target, rig.gitUrl, { signal: ctx.signal });
  const targetAgent = (await o.registry.connect(target)).client;
  const name = req.name !== '' ? req.name : await polecatName(o, target, req.rig, ctx);
  const actor = `${req.rig}/${name}`;
  const claimed = await beads(homeAgent, req.rig, actor, ['update', req.issue, '--claim'], call);
  const issue = Array.isArray(claimed) ? (claimed[0] as unknown) : claimed;
  let res: SpawnResponse;
  try {
    res = await targetAgent.spawn(
      {
        rig: req.rig,
        issue: req.issue,
        name,
        agent: req.agent,
        remote: {
          homeMachine: home,
          gitUrl: rig.gitUrl,
          defaultBranch: rig.defaultBranch,
          prefix: rig.prefix,
          issueJson: JSON.stringify(issue),
          witnessJson: rig.witnessJson,
        },
      },
      call,
    );
  } catch (err) {
    const e = asGtError(err);
    const stuck = e.code === 'GT_AGENT_BLOCKED' && e.details?.exited !== true;
    if (!stuck)
      await beads(
        homeAgent,
        req.rig,
        actor,
        ['update', req.issue, '--status', 'open', '--assignee', ''],
        passThrough({ ...ctx, signal: AbortSignal.timeout(30_000) }),
      ).catch(() => undefined);
    o.registry.noteFailure(target, e);
    throw isGtError(err)
      ? new GtError(e.code, `on machine ${target}: ${e.message}`, {
          hint: stuck ? e.hint : `${req.issue} is open again; ${e.hint ?? 'see `gt doctor`'}`,
          details: e.details,
          cause: err,
        })
      : err;
  }
  o.directory.polecatSpawned(req.rig, res.polecat, target, res.issue, res.branch);
  return { ...res, machine: target };
}

/** An idle polecat of the rig on `target`, else the first pool name no machine uses for the rig. */
export async function polecatName(
  o: RemoteSpawnOptions,
  target: string,
  rig: string,
  ctx: CallContext,
  /** Names being given to other spawns right now. */
  reserved: ReadonlySet<string> = new Set(),
): Promise<string> {
  const call = passThrough(ctx);
  const agent = (await o.registry.connect(target)).client;
  const here = await agent.listPolecats({ rig }, call).catch((err: unknown) => {
    if (isGtError(err) && err.code === 'GT_RIG_NOT_FOUND') return { polecats: [] };
    throw err;
  });
  const idle = here.polecats.find(
    (p) =>
      p.active &&
      p.status?.state === 'idle' &&
      p.status.sessionAlive !== true &&
      !reserved.has(p.status.name),
  );
  if (idle?.status !== undefined) return idle.status.name;
  // Each machine's listing once; after that spawn replies and status keep the directory current
  // (asking every machine again on every spawn made a swarm's spawns cost a fleet listing each).
  await o.directory.ensureListed(call.signal);
  const taken = [
    ...o.directory.polecatNames(rig),
    ...here.polecats.map((p) => p.status?.name ?? ''),
    ...reserved,
  ];
  return nextPoolName(taken);
}

/** Run bd on the rig's home as `actor` with --json; bd's error becomes a GtError. */
async function beads(
  agent: NodeAgentClient,
  rig: string,
  actor: string,
  args: string[],
  call: ReturnType<typeof passThrough>,
): Promise<unknown> {
  const res = await agent.runBeads(
    { rig, args: [...args, '--json'], actor, stdin: new Uint8Array() },
    call,
  );
  const stderr = Buffer.from(res.stderr).toString('utf8').trim();
  if (res.exitCode !== 0) {
    const [first = '', ...rest] = stderr.split('\n');
    const hint = rest.find((l) => l.startsWith('hint: '))?.slice(6);
    const message = first.replace(/^error: /, '');
    throw new GtError(
      res.exitCode === 2
        ? 'GT_USAGE'
        : /claimed|cannot be claimed/.test(message)
          ? 'GT_CLAIMED'
          : 'GT_BEADS',
      message,
      hint === undefined ? {} : { hint },
    );
  }
  return JSON.parse(Buffer.from(res.stdout).toString('utf8')) as unknown;
}
