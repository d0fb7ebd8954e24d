/**
 * The coordinator's session and polecat RPCs: each is routed to the node agent of the machine
 * that homes the rig or runs the polecat, as the fleet directory routes them.
 */
import {
  GtError,
  type ClientOf,
  type Coordinator,
  type ImplOf,
  type NodeAgent,
} from '../proto/index.js';
import type { FleetDirectory } from './directory.js';

type Impl = ImplOf<typeof Coordinator>;
export type SessionRoutes = Pick<
  Impl,
  | 'spawn'
  | 'listPolecats'
  | 'setAgentActive'
  | 'done'
  | 'handoff'
  | 'stopSessions'
  | 'sendText'
  | 'capture'
  | 'killSession'
  | 'listMergeQueue'
  | 'getMergeQueueEntry'
  | 'retryMergeQueueEntry'
  | 'processMergeQueue'
>;

export interface SessionRoutesOptions {
  directory: FleetDirectory;
  agent: (machine: string | undefined) => Promise<ClientOf<typeof NodeAgent>>;
  machines: () => string[];
}

export function sessionRoutes(options: SessionRoutesOptions): SessionRoutes {
  const { directory, agent } = options;
  const rigMachine = (rig: string) => directory.rigHome(rig);
  const at = async (address: string) => {
    const r = await directory.route(address);
    return { client: await agent(r.machine), address: r.address };
  };
  return {
    async spawn(req, ctx) {
      const machine = await rigMachine(req.rig);
      const res = await (await agent(machine)).spawn(req, { signal: ctx.signal });
      directory.polecatSpawned(res.rig, res.polecat, machine);
      return res;
    },
    async listPolecats(req) {
      return (await agent(await rigMachine(req.rig))).listPolecats(req);
    },
    async setAgentActive(req) {
      const { client, address } = await at(req.address);
      return client.setAgentActive({ ...req, address });
    },
    async done(req) {
      const { client, address } = await at(req.address);
      return client.done({ ...req, address });
    },
    async handoff(req, ctx) {
      const { client, address } = await at(req.address);
      return client.handoff({ ...req, address }, { signal: ctx.signal });
    },
    async stopSessions(req) {
      if (!req.all) return (await agent(await rigMachine(req.rig))).stopSessions(req);
      // Emergency stop: an unreachable machine must not keep the others running.
      const stopped = [];
      const failures: string[] = [];
      for (const machine of options.machines()) {
        try {
          stopped.push(...(await (await agent(machine)).stopSessions(req)).stopped);
        } catch (err) {
          failures.push(`${machine}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (
        failures.length > 0 &&
        stopped.length === 0 &&
        options.machines().length === failures.length
      )
        throw new GtError(
          'GT_MACHINE_UNREACHABLE',
          `could not stop sessions: ${failures.join('; ')}`,
          {
            hint: 'check the machines with `gt doctor`; sessions there keep running',
          },
        );
      return { stopped };
    },
    async sendText(req, ctx) {
      const { client, address } = await at(req.address);
      return client.sendText({ ...req, address }, { signal: ctx.signal });
    },
    async capture(req, ctx) {
      const { client, address } = await at(req.address);
      return client.capture({ ...req, address }, { signal: ctx.signal });
    },
    async killSession(req) {
      const { client, address } = await at(req.address);
      return client.killSession({ ...req, address });
    },
    // The Refinery's merge queue lives with the rig: route by the rig's machine.
    async listMergeQueue(req) {
      return (await agent(await rigMachine(req.rig))).listMergeQueue(req);
    },
    async getMergeQueueEntry(req) {
      return (await agent(await rigMachine(req.rig))).getMergeQueueEntry(req);
    },
    async retryMergeQueueEntry(req) {
      return (await agent(await rigMachine(req.rig))).retryMergeQueueEntry(req);
    },
    async processMergeQueue(req, ctx) {
      return (await agent(await rigMachine(req.rig))).processMergeQueue(req, {
        signal: ctx.signal,
      });
    },
  };
}
