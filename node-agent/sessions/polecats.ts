/**
 * `gt polecats <rig>`: each polecat's recorded state next to the truth of its tmux session; and
 * `gt wake` / `gt sleep`, which mark an agent active or inactive.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PaneStateInfo } from '../tmux/index.js';
import { agentStatus, rigAgents, type AgentStatus } from '../town/index.js';
import {
  placeAgent,
  readAgentState,
  requireRig,
  stamped,
  townTmux,
  updateAgentState,
} from './agent-home.js';

export interface PolecatRow {
  status: AgentStatus & { session_alive: boolean };
  branch: string | undefined;
  active: boolean;
  agent: string | undefined;
}

/** Names of live sessions on the town's tmux server. */
export async function liveSessions(townRoot: string): Promise<Set<string>> {
  // No socket, no tmux server: skip spawning tmux (this is on `gt status`'s hot path).
  if (!existsSync(join(townRoot, 'run', 'tmux.sock'))) return new Set();
  return new Set((await townTmux(townRoot).listSessions()).map((s) => s.name));
}

/** Every session's pane state on the town's tmux server, in one tmux call (the patrol's). */
export async function livePanes(townRoot: string): Promise<Map<string, PaneStateInfo>> {
  if (!existsSync(join(townRoot, 'run', 'tmux.sock'))) return new Map();
  return townTmux(townRoot).paneStates();
}

export async function listPolecats(townRoot: string, rig: string): Promise<PolecatRow[]> {
  await requireRig(townRoot, rig);
  const live = await liveSessions(townRoot);
  const refs = rigAgents(townRoot, rig).filter((r) => r.role === 'polecat');
  return Promise.all(
    refs.map(async (ref) => {
      const status = await agentStatus(ref);
      const state = await readAgentState(ref.home, 'polecat').catch(() => undefined);
      return {
        status: {
          ...status,
          session_alive: status.session !== undefined && live.has(status.session),
        },
        branch: state?.branch,
        active: state?.active !== false,
        agent: state?.agent,
      };
    }),
  );
}

export async function setAgentActive(
  townRoot: string,
  address: string,
  active: boolean,
): Promise<AgentStatus & { session_alive: boolean }> {
  const place = placeAgent(townRoot, address);
  await updateAgentState(place.home, place.role, (s) => stamped({ ...s, active }));
  const status = await agentStatus({
    role: place.role,
    address: place.address,
    ...(place.rig === undefined ? {} : { rig: place.rig }),
    ...(place.name === undefined ? {} : { name: place.name }),
    home: place.home,
  });
  return { ...status, session_alive: await townTmux(townRoot).hasSession(place.session) };
}
