/**
 * The seed's "tmux crash" row. When the town's tmux server dies every session goes with it; the
 * agents' state files still say "working". `tmux-server` names that cause once (the agent-crash
 * check lists each agent), and its `--fix` cleans up: the stale socket is removed (tmux never
 * removes it), each such agent is reset to idle and its issue given back, exactly as agent-crash
 * does. Clones are not touched, so uncommitted work survives. The next `gt spawn` starts a new
 * server.
 */
import { existsSync, unlinkSync } from 'node:fs';
import type { DoctorCheck, DoctorProblem } from '../town/index.js';
import { AGENT_CRASH_CHECK, crashedAgents, recoverCrashedAgent } from './crash-check.js';
import { socketAnswers } from '../../proto/index.js';
import { ORPHANED_CLAIMS_CHECK } from './claims.js';
import { SESSION_NAMES_CHECK } from './session-names-check.js';
import { tmuxServerHealth, type TmuxServerHealth } from './tmux-health.js';

function downProblem(
  townRoot: string,
  health: TmuxServerHealth,
  crashed: Awaited<ReturnType<typeof crashedAgents>>,
): DoctorProblem {
  const why =
    health.state === 'stale'
      ? `nothing answers on ${health.socket} (a stale socket the dead server left)`
      : `no server on ${health.socket}`;
  // Looked at again right before: a `gt spawn` may have started a new server on it meanwhile.
  const removeSocket = async (): Promise<string[]> => {
    if (health.state !== 'stale' || !existsSync(health.socket)) return [];
    if (await socketAnswers(health.socket)) return [];
    unlinkSync(health.socket);
    return [`removed the stale tmux socket ${health.socket}`];
  };
  // tmux leaves its socket when the last session ends: with no agent needing a server that is
  // the normal idle state, not a warning (the next `gt spawn` starts a server on it).
  if (crashed.length === 0)
    return {
      status: 'ok',
      message: `no tmux server runs and no agent needs one (${health.socket} is left from the last one, as tmux does; the next \`gt spawn\` reuses it)`,
    };
  const who = crashed.map((c) => `${c.address}${c.issue === undefined ? '' : ` (${c.issue})`}`);
  return {
    status: 'error',
    message: `tmux server down: ${why}; ${crashed.length} agent(s) say "working" with no session: ${who.join(', ')}`,
    hint: '`gt doctor --fix` removes the stale socket, resets those agents to idle and gives their issues back (their clones and uncommitted work are kept); the next `gt spawn` starts a new tmux server',
    repair: async () => {
      const done = await removeSocket();
      for (const c of crashed) done.push(await recoverCrashedAgent(townRoot, c));
      return done.join('; ');
    },
  };
}

export const TMUX_SERVER_CHECK: DoctorCheck = {
  id: 'tmux-server',
  scope: 'swarm',
  title: "the town's tmux server answers (or no agent needs one)",
  async run({ townRoot }) {
    const health = await tmuxServerHealth(townRoot);
    if (health.state === 'running') return [];
    if (health.state === 'unresponsive')
      return [
        {
          status: 'error',
          message: `the town's tmux server on ${health.socket} accepts connections but does not answer${health.detail === '' ? '' : ` (${health.detail})`}`,
          hint: `no session can be reached; if it stays hung, \`tmux -S ${health.socket} kill-server\` (ends every agent session, clones are kept), then \`gt doctor --fix\``,
        },
      ];
    const crashed = await crashedAgents(townRoot, new Set());
    if (health.state === 'none' && crashed.length === 0) return [];
    return [downProblem(townRoot, health, crashed)];
  },
};

/** The swarm checks of this folder, in order: the cause (tmux server) before each symptom. */
export const SWARM_CHECKS: readonly DoctorCheck[] = [
  TMUX_SERVER_CHECK,
  AGENT_CRASH_CHECK,
  SESSION_NAMES_CHECK,
  ORPHANED_CLAIMS_CHECK,
];
