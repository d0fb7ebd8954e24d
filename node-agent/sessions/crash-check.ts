/**
 * The seed's "agent crash" row as a swarm doctor check: state says working but the session is
 * gone. `--fix` resets the agent to idle and gives its issue back to the queue (status open,
 * unassigned) when the crashed agent still holds it; the clone and its work are left as they are.
 */
import {
  agentStatus,
  listRigs,
  rigAgents,
  rigPaths,
  type AgentRef,
  type DoctorCheck,
  type DoctorProblem,
} from '../town/index.js';
import { stamped, updateAgentState } from './agent-home.js';
import { releaseClaim } from './claims.js';
import { sessionsForCheck } from './tmux-health.js';

export interface CrashedAgent {
  rig: string;
  ref: AgentRef;
  address: string;
  issue: string | undefined;
  session: string | undefined;
}

/** Agents whose state says working while their session is not among `live`. */
export async function crashedAgents(
  townRoot: string,
  live: ReadonlySet<string>,
): Promise<CrashedAgent[]> {
  const out: CrashedAgent[] = [];
  for (const rig of (await listRigs(townRoot, { satellites: true })).filter((r) => r.present)) {
    for (const ref of rigAgents(townRoot, rig.name)) {
      const s = await agentStatus(ref);
      if (s.state !== 'working' || (s.session !== undefined && live.has(s.session))) continue;
      out.push({ rig: rig.name, ref, address: s.address, issue: s.issue, session: s.session });
    }
  }
  return out;
}

/** The recovery: state idle (session and issue cleared), the issue back in the queue. */
export async function recoverCrashedAgent(townRoot: string, c: CrashedAgent): Promise<string> {
  await updateAgentState(c.ref.home, c.ref.role, (st) => {
    const { session: _s, issue: _i, ...rest } = st;
    return stamped({ ...rest, state: 'idle' });
  });
  const released =
    c.issue !== undefined && releaseClaim(rigPaths(townRoot, c.rig).beadsDir, c.issue, c.address);
  return `reset ${c.address} to idle (its session was gone)${released ? `; ${c.issue ?? ''} is open again` : ''}`;
}

export const AGENT_CRASH_CHECK: DoctorCheck = {
  id: 'agent-crash',
  scope: 'swarm',
  title: 'agent sessions match their state',
  async run(ctx) {
    const seen = await sessionsForCheck(ctx.townRoot);
    if ('skipped' in seen) return [seen.skipped];
    const live = new Set(seen.sessions.map((s) => s.name));
    return (await crashedAgents(ctx.townRoot, live)).map((c): DoctorProblem => ({
      status: 'error',
      message: `agent crash: ${c.address} is "working"${c.issue === undefined ? '' : ` on ${c.issue}`} but its session ${c.session ?? '(none)'} is gone`,
      hint:
        c.ref.role === 'plugin'
          ? `\`gt doctor --fix\` resets it to idle; start it again with \`gt plugin start ${c.rig}/${c.ref.name ?? ''}\``
          : '`gt doctor --fix` resets it to idle and returns its issue to the queue; its clone is kept',
      repair: () => recoverCrashedAgent(ctx.townRoot, c),
    }));
  },
};
