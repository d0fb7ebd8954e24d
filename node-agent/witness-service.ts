/**
 * The NodeAgent's Witness, swarm and plugin RPCs, spread into the service by service.ts. A
 * patrol is the Witness's duties for a rig (done signals, polecats) followed by its swarm
 * duties (stuck swarms, "swarm complete" for the Mayor).
 */
import { readFileSync } from 'node:fs';
import type { ImplOf, MessageInitShape, NodeAgent, SwarmInfoSchema } from '../proto/index.js';
import {
  listPlugins,
  pluginStatus,
  startPlugin,
  stopPlugin,
  type PluginInfo,
} from './plugins/index.js';
import {
  cancelSwarm,
  checkSwarms,
  listSwarms,
  readSwarm,
  startSwarm,
  updateSwarm,
  viewSwarm,
  type SwarmRecord,
} from './swarms/index.js';
import { patrolRig, witnessThresholds } from './witness/index.js';
import type { LoopLedger } from './loop-ledger.js';

type Impl = ImplOf<typeof NodeAgent>;
export type WitnessRpcs = Pick<
  Impl,
  | 'witnessPatrol'
  | 'startSwarm'
  | 'listSwarms'
  | 'cancelSwarm'
  | 'recordSwarmDispatch'
  | 'listPlugins'
  | 'startPlugin'
  | 'stopPlugin'
>;

async function swarmInfo(
  townRoot: string,
  record: SwarmRecord,
): Promise<MessageInitShape<typeof SwarmInfoSchema>> {
  const v = await viewSwarm(townRoot, record);
  return {
    id: record.id,
    rig: record.rig,
    state: record.state,
    agent: record.agent ?? '',
    createdAt: record.created_at,
    finishedAt: record.finished_at ?? '',
    settled: v.settled,
    issues: v.issues.map((i) => ({ ...i, epoch: BigInt(i.epoch) })),
  };
}

/** CPU of this process's reaped children (git, tmux), ms: /proc/self/stat cutime + cstime. */
function childrenCpuMs(): number {
  try {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // USER_HZ ticks
  } catch {
    return 0; // not Linux: children not measured
  }
}

const pluginInfo = (p: PluginInfo) => ({ ...p, epoch: BigInt(p.epoch) });

/** One Witness patrol of `rig` on this machine: its polecats here, then its swarm duties. */
export async function patrolOnce(townRoot: string, rig: string, signal: AbortSignal) {
  const cpu = process.cpuUsage();
  const children = childrenCpuMs();
  const report = await patrolRig({ townRoot, rig, signal });
  // Judged as of the patrol's own instant, the one its progress records carry.
  const swarmActions = await checkSwarms(townRoot, rig, new Date(report.at));
  const used = process.cpuUsage(cpu);
  return {
    rig: report.rig,
    at: report.at,
    polecats: report.polecats,
    actions: [...report.actions, ...swarmActions],
    cpuMs: (used.user + used.system) / 1000,
    childrenCpuMs: Math.max(0, childrenCpuMs() - children),
    intervalMs: (await witnessThresholds(townRoot, rig)).patrolIntervalMs,
  };
}

export function witnessRpcs(townRoot: string, ledger: LoopLedger): WitnessRpcs {
  return {
    async witnessPatrol(req, ctx) {
      if (req.loop && ledger.own) {
        // This machine's own Witness loop patrols here: a second loop would patrol twice.
        ledger.declined(req.rig, 'witness');
        return {
          rig: req.rig,
          at: new Date().toISOString(),
          intervalMs: (await witnessThresholds(townRoot, req.rig)).patrolIntervalMs,
          ownLoops: [ledger.machine],
        };
      }
      ledger.asked(req.rig, 'witness');
      return ledger.exclusive(req.rig, 'witness', () => patrolOnce(townRoot, req.rig, ctx.signal));
    },
    async startSwarm(req, ctx) {
      const record = await startSwarm({
        townRoot,
        rig: req.rig,
        issues: req.issues,
        ready: req.ready,
        max: req.max,
        agent: req.agent,
        signal: ctx.signal,
        recordOnly: req.recordOnly,
      });
      return swarmInfo(townRoot, record);
    },
    async recordSwarmDispatch(req) {
      const byIssue = new Map(req.dispatched.map((d) => [d.issue, d]));
      const record = await updateSwarm(townRoot, req.id, (r) => ({
        ...r,
        issues: r.issues.map((it) => {
          const d = byIssue.get(it.issue);
          if (d === undefined) return it;
          if (d.error !== '') return { issue: it.issue, error: d.error };
          return {
            issue: it.issue,
            polecat: d.polecat,
            address: d.address,
            epoch: Number(d.epoch),
            branch: d.branch,
            session: d.session,
            ...(d.machine === '' ? {} : { machine: d.machine }),
          };
        }),
      }));
      return swarmInfo(townRoot, record);
    },
    async listSwarms(req) {
      const records =
        req.id === '' ? await listSwarms(townRoot, req.rig) : [await readSwarm(townRoot, req.id)];
      return { swarms: await Promise.all(records.map((r) => swarmInfo(townRoot, r))) };
    },
    async cancelSwarm(req) {
      return swarmInfo(townRoot, await cancelSwarm(townRoot, req.id));
    },
    async listPlugins(req) {
      const plugins =
        req.name === ''
          ? await listPlugins(townRoot, req.rig)
          : [await pluginStatus(townRoot, `${req.rig}/${req.name}`)];
      return { plugins: plugins.map(pluginInfo) };
    },
    async startPlugin(req, ctx) {
      const r = await startPlugin({
        townRoot,
        rig: req.rig,
        name: req.name,
        agent: req.agent,
        prompt: req.prompt,
        signal: ctx.signal,
      });
      return { plugin: pluginInfo(r.plugin), cwd: r.cwd, ...r.timings };
    },
    async stopPlugin(req) {
      const r = await stopPlugin(townRoot, req.rig, req.name);
      return { plugin: pluginInfo(r.plugin), killed: r.killed };
    },
  };
}
