/**
 * The coordinator's Witness, swarm and plugin RPCs: routed to the node agent of the machine that
 * homes the rig. Swarm records live with the rig's machine; a listing without a rig asks every
 * machine.
 */
import type { ClientOf, Coordinator, ImplOf, NodeAgent } from '../proto/index.js';
import type { FleetDirectory } from './directory.js';

type Impl = ImplOf<typeof Coordinator>;
export type WitnessRoutes = Pick<
  Impl,
  | 'witnessPatrol'
  | 'startSwarm'
  | 'listSwarms'
  | 'cancelSwarm'
  | 'listPlugins'
  | 'startPlugin'
  | 'stopPlugin'
>;

export interface WitnessRoutesOptions {
  directory: FleetDirectory;
  agent: (machine: string | undefined) => Promise<ClientOf<typeof NodeAgent>>;
  machines: () => string[];
}

export function witnessRoutes(options: WitnessRoutesOptions): WitnessRoutes {
  const { directory, agent } = options;
  const forRig = async (rig: string) => agent(await directory.rigHome(rig));
  /** Ask each machine in turn; the first that knows the swarm answers. */
  const bySwarm = async <T>(call: (c: ClientOf<typeof NodeAgent>) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const machine of options.machines()) {
      try {
        return await call(await agent(machine));
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
  return {
    async witnessPatrol(req, ctx) {
      return (await forRig(req.rig)).witnessPatrol(req, { signal: ctx.signal });
    },
    async startSwarm(req, ctx) {
      return (await forRig(req.rig)).startSwarm(req, { signal: ctx.signal });
    },
    async listSwarms(req) {
      if (req.rig !== '') return (await forRig(req.rig)).listSwarms(req);
      if (req.id !== '') return bySwarm((c) => c.listSwarms(req));
      const swarms = [];
      for (const machine of options.machines())
        swarms.push(...(await (await agent(machine)).listSwarms(req)).swarms);
      return { swarms };
    },
    async cancelSwarm(req) {
      return bySwarm((c) => c.cancelSwarm(req));
    },
    async listPlugins(req) {
      return (await forRig(req.rig)).listPlugins(req);
    },
    async startPlugin(req, ctx) {
      return (await forRig(req.rig)).startPlugin(req, { signal: ctx.signal });
    },
    async stopPlugin(req) {
      return (await forRig(req.rig)).stopPlugin(req);
    },
  };
}
