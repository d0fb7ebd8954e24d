/**
 * Two agents that record one tmux session: towns made before session names were escaped
 * injectively could give `a.b` and `a_b` (or rig `a-b` + `Nux` and rig `a` + `b-Nux`) the same
 * name, and the second spawn killed the first agent. Doctor names each such pair; the fix is for a
 * human (kill both, spawn again: new sessions get distinct names), since one of the two agents'
 * work may be live in that pane.
 */
import { agentStatus, listRigs, rigAgents, type DoctorCheck } from '../town/index.js';

/** States whose agent is (or should be) in its recorded session. */
const IN_A_SESSION = new Set(['working', 'stuck', 'done']);

export const SESSION_NAMES_CHECK: DoctorCheck = {
  id: 'session-names',
  scope: 'swarm',
  title: 'no two agents record the same tmux session',
  async run({ townRoot }) {
    const holders = new Map<string, string[]>();
    for (const rig of (await listRigs(townRoot, { satellites: true })).filter((r) => r.present))
      for (const ref of rigAgents(townRoot, rig.name)) {
        const s = await agentStatus(ref);
        if (s.session === undefined || !IN_A_SESSION.has(s.state)) continue;
        holders.set(s.session, [...(holders.get(s.session) ?? []), s.address]);
      }
    return [...holders]
      .filter(([, who]) => who.length > 1)
      .map(([session, who]) => ({
        status: 'error' as const,
        message: `${who.join(' and ')} all record tmux session "${session}": only one of them can be in it (the later spawn replaced the earlier agent)`,
        hint: `end them with ${who.map((a) => `\`gt kill ${a}\``).join(', ')}, then spawn again: new sessions get distinct names`,
      }));
  },
};
