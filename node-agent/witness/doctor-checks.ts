/**
 * The seed's swarm doctor checks beyond agent-crash: zombie sessions (a session on the town's
 * tmux server that no agent owns, or a finished polecat whose state still names a session) and
 * heartbeat health (a working polecat with no activity beyond the stuck threshold). Both look at
 * satellites too: polecats placed here by the coordinator for a rig homed elsewhere.
 */
import {
  readAgentState,
  sessionsForCheck,
  stamped,
  townTmux,
  updateAgentState,
} from '../sessions/index.js';
import {
  agentSession,
  listRigs,
  rigAgents,
  type DoctorCheck,
  type DoctorProblem,
} from '../town/index.js';
import { readPatrolRecord } from './patrol-record.js';
import { witnessThresholds } from './thresholds.js';

const MAYOR_SESSION = 'gt-mayor';
const LIVE_STATES = new Set(['working', 'done', 'stuck']);

interface Owners {
  /** Session name → whether its owner legitimately runs it now. */
  owned: Map<string, boolean>;
  /** Polecats whose state names a session although they are finished. */
  staleStates: Array<{ address: string; home: string; session: string; state: string }>;
}

async function sessionOwners(townRoot: string): Promise<Owners> {
  const owned = new Map<string, boolean>([[MAYOR_SESSION, true]]);
  const staleStates: Owners['staleStates'] = [];
  for (const rig of (await listRigs(townRoot, { satellites: true })).filter((r) => r.present)) {
    for (const ref of rigAgents(townRoot, rig.name)) {
      const session = agentSession(ref.home, ref.address);
      if (ref.role !== 'polecat') {
        owned.set(session, true);
        continue;
      }
      const s = await readAgentState(ref.home, 'polecat').catch(() => undefined);
      const running = s !== undefined && LIVE_STATES.has(s.state) && s.session === session;
      owned.set(session, running);
      if (s?.session !== undefined && !LIVE_STATES.has(s.state))
        staleStates.push({
          address: ref.address,
          home: ref.home,
          session: s.session,
          state: s.state,
        });
    }
  }
  return { owned, staleStates };
}

export const ZOMBIE_SESSIONS_CHECK: DoctorCheck = {
  id: 'zombie-sessions',
  scope: 'swarm',
  title: 'no zombie sessions',
  async run(ctx) {
    const seen = await sessionsForCheck(ctx.townRoot);
    if ('skipped' in seen) return [seen.skipped];
    const live = new Set(seen.sessions.map((s) => s.name));
    const { owned, staleStates } = await sessionOwners(ctx.townRoot);
    const problems: DoctorProblem[] = [];
    for (const session of live) {
      if (owned.get(session) === true) continue;
      problems.push({
        status: 'error',
        message: `zombie session: ${session} runs on the town's tmux server but ${owned.has(session) ? 'its polecat has no assignment' : 'no agent owns it'}`,
        hint: '`gt doctor --fix` kills it (clones are not touched)',
        repair: async () => {
          await townTmux(ctx.townRoot).killSession(session);
          return `killed zombie session ${session}`;
        },
      });
    }
    for (const z of staleStates.filter((s) => !live.has(s.session)))
      problems.push({
        status: 'warning',
        message: `zombie state: ${z.address} is "${z.state}" but still names session ${z.session}, which is gone`,
        hint: '`gt doctor --fix` clears the session from its state',
        repair: async () => {
          await updateAgentState(z.home, 'polecat', (s) => {
            const { session: _s, ...rest } = s;
            return s.session === z.session ? stamped(rest) : s;
          });
          return `cleared session ${z.session} from ${z.address}`;
        },
      });
    return problems;
  },
};

export const HEARTBEAT_CHECK: DoctorCheck = {
  id: 'heartbeat-health',
  scope: 'swarm',
  title: 'working polecats show activity',
  async run(ctx) {
    const problems: DoctorProblem[] = [];
    const now = Date.now();
    const seen = await sessionsForCheck(ctx.townRoot);
    if ('skipped' in seen) return [seen.skipped];
    const activity = new Map(seen.sessions.map((s) => [s.name, s.lastActivityAt.getTime()]));
    for (const rig of (await listRigs(ctx.townRoot, { satellites: true })).filter(
      (r) => r.present,
    )) {
      const t = await witnessThresholds(ctx.townRoot, rig.name);
      const record = await readPatrolRecord(ctx.townRoot, rig.name).catch(() => undefined);
      for (const ref of rigAgents(ctx.townRoot, rig.name).filter((r) => r.role === 'polecat')) {
        const state = await readAgentState(ref.home, 'polecat').catch(() => undefined);
        if (state?.state !== 'working') continue;
        const p = { address: ref.address, state };
        const watched = record?.workers[p.address];
        const seen = [
          p.state.last_activity,
          p.state.updated_at,
          watched !== undefined && watched.epoch === p.state.epoch
            ? watched.last_progress_at
            : undefined,
        ]
          .filter((x): x is string => x !== undefined)
          .map((x) => Date.parse(x));
        const last = Math.max(...seen, activity.get(p.state.session ?? '') ?? 0);
        if (now - last <= t.stuckTimeoutMs) continue;
        problems.push({
          status: 'warning',
          message: `stuck: ${p.address} is working on ${p.state.issue ?? '?'} with no activity for ${Math.round((now - last) / 60_000)} min (threshold ${Math.round(t.stuckTimeoutMs / 60_000)} min)`,
          hint: `run \`gt witness patrol ${rig.name} --once\` (it nudges, then escalates), or look with \`gt capture ${p.address}\``,
        });
      }
    }
    return problems;
  },
};

export const WITNESS_CHECKS: readonly DoctorCheck[] = [ZOMBIE_SESSIONS_CHECK, HEARTBEAT_CHECK];
