/**
 * Where an agent lives and what its state says: address → home, tmux session name and state.json,
 * and the one locked read-modify-write of a state file (DESIGN.md §4: one writer discipline).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  GtError,
  assertName,
  parseAddress,
  readJsonFile,
  updateJsonFile,
  writeJsonAtomic,
  withFileLock,
  type Address,
} from '../../proto/index.js';
import {
  AgentStateSchema,
  agentHomeFiles,
  agentSession,
  idleState,
  listRigs,
  rigPaths,
  townPaths,
  type AgentRole,
  type AgentState,
} from '../town/index.js';
import { TmuxServer } from '../tmux/index.js';

export interface AgentPlace {
  address: string;
  role: AgentRole;
  rig: string | undefined;
  name: string | undefined;
  home: string;
  session: string;
}

/** The town's tmux server (`<town>/run/tmux.sock`). */
export function townTmux(townRoot: string): TmuxServer {
  return TmuxServer.forTown(townRoot);
}

function homeOf(townRoot: string, a: Address): string {
  if (a.role === 'mayor') {
    return a.rig === undefined
      ? townPaths(townRoot).mayorHome
      : rigPaths(townRoot, a.rig).mayorHome;
  }
  const rig = rigPaths(townRoot, a.rig ?? '');
  switch (a.role) {
    case 'witness':
      return rig.witnessHome;
    case 'refinery':
      return rig.refineryHome;
    case 'polecat':
      return join(rig.polecatsDir, a.name);
    case 'plugin':
      return join(rig.pluginsDir, a.name);
    default:
      throw new GtError('GT_INVALID_ADDRESS', 'the overseer is a human: it has no session');
  }
}

/** Resolve an address (`rig/Nux`, `rig/witness`, `mayor`) to its home; the agent must exist. */
export function placeAgent(townRoot: string, address: string): AgentPlace {
  const a = parseAddress(address);
  if (a.role === 'overseer')
    throw new GtError('GT_INVALID_ADDRESS', 'the overseer is a human: it has no session', {
      hint: 'address an agent: mayor, <rig>/witness, <rig>/refinery or <rig>/<polecat>',
    });
  const home = homeOf(townRoot, a);
  const rig = 'rig' in a ? a.rig : undefined;
  const name = 'name' in a ? a.name : undefined;
  const canonical =
    rig === undefined
      ? 'mayor'
      : name === undefined
        ? `${rig}/${a.role}`
        : a.role === 'plugin'
          ? `${rig}/plugins/${name}`
          : `${rig}/${name}`;
  if (!existsSync(home)) {
    throw new GtError('GT_AGENT_NOT_FOUND', `no agent ${canonical}: ${home} does not exist`, {
      hint:
        rig === undefined
          ? 'check the address'
          : a.role === 'plugin'
            ? `list the rig's plugins with \`gt plugins ${rig}\``
            : `list the rig's polecats with \`gt polecats ${rig}\``,
    });
  }
  return { address: canonical, role: a.role, rig, name, home, session: agentSession(home, a) };
}

/**
 * Where an agent's session runs: a plugin in its `rig/` clone when it has one (seed: "Plugin's
 * git clone (if needed)"), every other agent in its home (a polecat's home is its clone).
 */
export function workDirOf(place: Pick<AgentPlace, 'role' | 'home'>): string {
  if (place.role !== 'plugin') return place.home;
  const clone = join(place.home, 'rig');
  return existsSync(join(clone, '.git')) ? clone : place.home;
}

/**
 * Check the rig is registered and present on this machine: an invalid name is a usage error
 * (GT_INVALID_ARGUMENT), an unknown one says `no rig named "X"`. The node agent runs it for every
 * RPC that names a rig (service.ts), before any rig file is touched.
 */
export async function requireRig(townRoot: string, rig: string): Promise<void> {
  assertName('rig', rig);
  const rigs = await listRigs(townRoot, { satellites: true });
  const found = rigs.find((r) => r.name === rig);
  if (found === undefined) {
    throw new GtError('GT_RIG_NOT_FOUND', `no rig named "${rig}"`, {
      hint:
        rigs.length === 0
          ? 'add one with `gt rig add <name> <git_url>`'
          : `rigs: ${rigs.map((r) => r.name).join(', ')}`,
    });
  }
  if (!found.present)
    throw new GtError('GT_RIG_NOT_FOUND', `rig "${rig}" is registered but missing on disk`, {
      // gt doctor's rig-registry check reports it; nothing can re-create a rig's work on its own.
      hint: `restore its directory, or unregister it with \`gt rig remove ${rig}\` and add it again`,
    });
}

/** An agent's state, or its idle state when state.json is missing. */
export async function readAgentState(home: string, role: AgentRole): Promise<AgentState> {
  const file = agentHomeFiles(home).state;
  if (!existsSync(file)) return idleState(role);
  return readJsonFile(file, AgentStateSchema);
}

/**
 * Locked read-modify-write of an agent's state.json (created idle when missing). `mutate` may
 * check something else under the lock (is the session running?) and throw to write nothing.
 */
export async function updateAgentState(
  home: string,
  role: AgentRole,
  mutate: (current: AgentState) => AgentState | Promise<AgentState>,
): Promise<AgentState> {
  const file = agentHomeFiles(home).state;
  if (!existsSync(file)) {
    return withFileLock(file, async () => {
      const next = await mutate(idleState(role));
      await writeJsonAtomic(file, next);
      return next;
    });
  }
  return updateJsonFile(file, AgentStateSchema, (current) => mutate(current));
}

/** Stamp a state change: updated_at (and last_activity) now. */
export function stamped(state: AgentState, now = new Date()): AgentState {
  const at = now.toISOString();
  return { ...state, updated_at: at, last_activity: at };
}
