/**
 * The coordinator's session and polecat RPCs: each is routed to the node agent of the machine
 * that homes the rig (`config/rigs.json`) or that the address names (`machine:rig/polecat`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GtError,
  formatAddress,
  parseAddress,
  type ClientOf,
  type Coordinator,
  type ImplOf,
  type NodeAgent,
} from '../proto/index.js';

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
  | 'releaseIssue'
  | 'listMergeQueue'
  | 'getMergeQueueEntry'
  | 'retryMergeQueueEntry'
  | 'processMergeQueue'
>;

export interface SessionRoutesOptions {
  townRoot: string;
  agent: (machine: string | undefined) => Promise<ClientOf<typeof NodeAgent>>;
  machines: () => string[];
}

const LOCAL = 'local';

/** The machine homing a rig: its `machine` in config/rigs.json, else local. */
export function rigMachine(townRoot: string, rig: string): string {
  const file = join(townRoot, 'config', 'rigs.json');
  if (!existsSync(file)) return LOCAL;
  try {
    const registry = JSON.parse(readFileSync(file, 'utf8')) as {
      rigs?: Record<string, { machine?: string }>;
    };
    return registry.rigs?.[rig]?.machine ?? LOCAL;
  } catch {
    return LOCAL; // the node agent reports the broken file with its own error
  }
}

/** `[machine:]rig/x` → the machine (explicit, else the rig's home) and the machine-local address. */
function route(townRoot: string, address: string): { machine: string; local: string } {
  const parsed = parseAddress(address);
  const { machine: explicit, ...rest } = parsed;
  const local = formatAddress(rest as typeof parsed);
  const rig = 'rig' in rest && typeof rest.rig === 'string' ? rest.rig : undefined;
  return { machine: explicit ?? (rig === undefined ? LOCAL : rigMachine(townRoot, rig)), local };
}

export function sessionRoutes(options: SessionRoutesOptions): SessionRoutes {
  const { townRoot, agent } = options;
  const at = async (address: string) => {
    const r = route(townRoot, address);
    return { client: await agent(r.machine), address: r.local };
  };
  return {
    async spawn(req, ctx) {
      return (await agent(rigMachine(townRoot, req.rig))).spawn(req, { signal: ctx.signal });
    },
    async listPolecats(req) {
      return (await agent(rigMachine(townRoot, req.rig))).listPolecats(req);
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
      if (!req.all) return (await agent(rigMachine(townRoot, req.rig))).stopSessions(req);
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
    async releaseIssue(req) {
      const { client, address } = await at(req.address);
      return client.releaseIssue({ ...req, address });
    },
    // The Refinery's merge queue lives with the rig: route by the rig's machine.
    async listMergeQueue(req) {
      return (await agent(rigMachine(townRoot, req.rig))).listMergeQueue(req);
    },
    async getMergeQueueEntry(req) {
      return (await agent(rigMachine(townRoot, req.rig))).getMergeQueueEntry(req);
    },
    async retryMergeQueueEntry(req) {
      return (await agent(rigMachine(townRoot, req.rig))).retryMergeQueueEntry(req);
    },
    async processMergeQueue(req, ctx) {
      return (await agent(rigMachine(townRoot, req.rig))).processMergeQueue(req, {
        signal: ctx.signal,
      });
    },
  };
}
