/**
 * Forwarding: one mechanism for every coordinator rpc that only routes. Each such rpc takes and
 * returns the NodeAgent's own messages; its entry in `ROUTES` says how the target machine is
 * found (by rig, by address, by town path, the coordinator's own machine) and, optionally, how
 * the reply is completed. Adding a routed rpc is: declare it in both services with the same
 * messages, add one line here. Cancellation and the caller's remaining deadline always pass
 * through to the node agent (`passThrough`).
 */
import type { MessageShape } from '@bufbuild/protobuf';
import {
  GtError,
  RESERVED_NAMES,
  passThrough,
  type CallContext,
  type Coordinator,
  type MethodsOf,
  type NodeAgent,
} from '../proto/index.js';
import type { FleetDirectory } from './directory.js';
import { asGtError } from './fan-out.js';
import type { MachineRegistry } from './machines.js';

type CoordinatorMethods = MethodsOf<typeof Coordinator>;
type AgentMethods = MethodsOf<typeof NodeAgent>;
type Both = keyof CoordinatorMethods & keyof AgentMethods;

/** The rpcs both services declare with the same request and reply messages. */
export type SharedMethod = {
  [K in Both]: CoordinatorMethods[K]['input'] extends AgentMethods[K]['input']
    ? CoordinatorMethods[K]['output'] extends AgentMethods[K]['output']
      ? K
      : never
    : never;
}[Both];

type Req<K extends SharedMethod> = MessageShape<AgentMethods[K]['input']>;
type Res<K extends SharedMethod> = MessageShape<AgentMethods[K]['output']>;

export interface RouteContext {
  directory: FleetDirectory;
  signal: AbortSignal;
}

type To<R> = (req: R, at: RouteContext) => Promise<{ machine: string; request: R }>;

interface Rule<K extends SharedMethod> {
  to: To<Req<K>>;
  /** Complete the reply / keep the directory current, once the machine answered. */
  reply?: (res: Res<K>, machine: string, req: Req<K>, at: RouteContext) => Res<K>;
  /** The call places new polecats on the machine: refused while it drains. */
  places?: boolean;
}

type RoutingTable = { [K in SharedMethod]?: Rule<K> };

/** To the machine homing `req.rig` (or the one `machine:rig` names); the request names the rig. */
const byRig =
  <R extends { rig: string }>(): To<R> =>
  async (req, at) => {
    const r = await at.directory.routeRig(req.rig, at.signal);
    return { machine: r.machine, request: { ...req, rig: r.rig } };
  };

/** To the machine homing the rig `req.name` (rig management calls). */
const byRigName =
  <R extends { name: string }>(): To<R> =>
  async (req, at) => ({ machine: await at.directory.rigHome(req.name, at.signal), request: req });

/** To where `req.address` lives; the request carries the machine-local address. */
const byAddress =
  <R extends { address: string }>(): To<R> =>
  async (req, at) => {
    const r = await at.directory.route(req.address, at.signal);
    return { machine: r.machine, request: { ...req, address: r.address } };
  };

/** To the coordinator's own machine. */
const onHome =
  <R>(): To<R> =>
  async (req, at) => ({ machine: at.directory.home, request: req });

/** A directory inside the town: the first part names a rig (its home answers) or not (home). */
const byTownPath =
  <R extends { townPath: string }>(): To<R> =>
  async (req, at) => {
    const first = req.townPath.split('/')[0] ?? '';
    const rigLike = first !== '' && !first.startsWith('.') && !RESERVED_NAMES.has(first);
    const machine = rigLike ? await at.directory.rigHome(first, at.signal) : at.directory.home;
    return { machine, request: req };
  };

export const ROUTES = {
  installTown: { to: onHome(), reply: (res, machine) => ({ ...res, machine }) },
  removeRig: {
    to: byRigName(),
    reply: (res, machine, req, at) => {
      at.directory.rigRemoved(req.name);
      return { ...res, machine };
    },
  },
  prime: { to: byTownPath() },
  listMail: { to: byAddress() },
  markMailRead: { to: byAddress() },
  readMail: { to: byAddress() },
  spawn: {
    to: byRig(),
    places: true,
    reply: (res, machine, _req, at) => {
      at.directory.polecatSpawned(res.rig, res.polecat, machine, res.issue, res.branch);
      return res;
    },
  },
  listPolecats: { to: byRig() },
  setAgentActive: { to: byAddress() },
  done: { to: byAddress() },
  handoff: { to: byAddress() },
  sendText: { to: byAddress() },
  capture: { to: byAddress() },
  killSession: { to: byAddress() },
  releaseIssue: { to: byAddress() },
  listMergeQueue: { to: byRig() },
  getMergeQueueEntry: { to: byRig() },
  retryMergeQueueEntry: { to: byRig() },
  processMergeQueue: { to: byRig() },
  witnessPatrol: { to: byRig() },
  startSwarm: { to: byRig(), places: true },
  listPlugins: { to: byRig() },
  startPlugin: { to: byRig() },
  stopPlugin: { to: byRig() },
  runBeads: { to: byRig() },
} satisfies RoutingTable;

export type RoutedMethod = keyof typeof ROUTES;

export interface ForwardOptions {
  registry: MachineRegistry;
  directory: FleetDirectory;
  /** Whether `gt machine drain` is set on the machine (read fresh: it changes under a daemon). */
  isDraining?: (machine: string) => Promise<boolean>;
}

type Handler = (req: unknown, ctx: CallContext) => Promise<unknown>;
type AnyRule = {
  to: To<unknown>;
  /** The call places new polecats on the machine: refused while it drains. */
  places?: boolean;
  reply?: (res: unknown, machine: string, req: unknown, at: RouteContext) => unknown;
};

/** The coordinator's implementation of every rpc in `ROUTES`. */
export function forwardedMethods(options: ForwardOptions): Record<RoutedMethod, Handler> {
  const { registry, directory } = options;
  const impl: Partial<Record<RoutedMethod, Handler>> = {};
  for (const [name, rule] of Object.entries(ROUTES) as Array<[RoutedMethod, AnyRule]>) {
    impl[name] = async (req, ctx) => {
      const at: RouteContext = { directory, signal: ctx.signal };
      const { machine, request } = await rule.to(req, at);
      if (rule.places === true && (await options.isDraining?.(machine)) === true)
        throw new GtError(
          'GT_CONFLICT',
          `machine ${machine} is draining: no new polecats are placed there (the running ones finish)`,
          { hint: `undo it with \`gt machine drain ${machine} --undo\`` },
        );
      const client = (await registry.connect(machine)).client as unknown as Record<
        RoutedMethod,
        (r: unknown, o: ReturnType<typeof passThrough>) => Promise<unknown>
      >;
      let res: unknown;
      try {
        res = await client[name](request, passThrough(ctx));
      } catch (err) {
        registry.noteFailure(machine, asGtError(err));
        throw err;
      }
      registry.noteAnswer(machine);
      return rule.reply === undefined ? res : rule.reply(res, machine, req, at);
    };
  }
  return impl as Record<RoutedMethod, Handler>;
}
