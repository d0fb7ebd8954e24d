/**
 * The seed's "agent crash" row as a swarm doctor check: state says working but the session is
 * gone. `--fix` resets the agent to idle and gives its issue back to the queue (status open,
 * unassigned) when the crashed agent still holds it; the clone and its work are left as they are.
 */
import { existsSync } from 'node:fs';
import { openBeads, updateIssue } from '../beads/index.js';
import {
  agentStatus,
  listRigs,
  rigAgents,
  rigPaths,
  type DoctorCheck,
  type DoctorProblem,
} from '../town/index.js';
import { stamped, updateAgentState } from './agent-home.js';
import { liveSessions } from './polecats.js';

function releaseIssue(beadsDir: string, issue: string, holder: string): boolean {
  if (!existsSync(beadsDir)) return false;
  const store = openBeads(beadsDir, holder);
  try {
    const current = store.getIssue(issue);
    if (current === undefined || current.assignee !== holder || current.status !== 'in_progress')
      return false;
    updateIssue(store, issue, { status: 'open', assignee: '' });
    return true;
  } finally {
    store.close();
  }
}

export const AGENT_CRASH_CHECK: DoctorCheck = {
  id: 'agent-crash',
  scope: 'swarm',
  title: 'agent sessions match their state',
  async run(ctx) {
    const live = await liveSessions(ctx.townRoot);
    const problems: DoctorProblem[] = [];
    for (const rig of (await listRigs(ctx.townRoot)).filter((r) => r.present)) {
      for (const ref of rigAgents(ctx.townRoot, rig.name)) {
        const s = await agentStatus(ref);
        if (s.state !== 'working' || (s.session !== undefined && live.has(s.session))) continue;
        const issue = s.issue;
        problems.push({
          status: 'error',
          message: `agent crash: ${s.address} is "working"${issue === undefined ? '' : ` on ${issue}`} but its session ${s.session ?? '(none)'} is gone`,
          hint:
            ref.role === 'plugin'
              ? `\`gt doctor --fix\` resets it to idle; start it again with \`gt plugin start ${rig.name}/${ref.name ?? ''}\``
              : '`gt doctor --fix` resets it to idle and returns its issue to the queue; its clone is kept',
          repair: async () => {
            await updateAgentState(ref.home, ref.role, (st) => {
              const { session: _s, issue: _i, ...rest } = st;
              return stamped({ ...rest, state: 'idle' });
            });
            const released =
              issue !== undefined &&
              releaseIssue(rigPaths(ctx.townRoot, rig.name).beadsDir, issue, s.address);
            return `reset ${s.address} to idle (its session was gone)${released ? `; ${issue ?? ''} is open again` : ''}`;
          },
        });
      }
    }
    return problems;
  },
};

export const SWARM_CHECKS: readonly DoctorCheck[] = [AGENT_CRASH_CHECK];
