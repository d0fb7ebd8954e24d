/**
 * Town status: every rig and every agent in it with the state its state.json records. A missing or
 * broken state file is reported on the agent (`problem`), never thrown: status must always answer.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage, readJsonFile } from '../../proto/index.js';
import { agentHomeFiles, rigPaths, townPaths } from './layout.js';
import { AgentStateSchema, type AgentRole, type AgentStateValue } from './schemas.js';
import { listRigs, type RigSummary } from './rigs.js';
import { loadTown } from './town.js';

export interface AgentStatus {
  role: AgentRole;
  /** `mayor`, `<rig>/mayor`, `<rig>/witness`, `<rig>/refinery`, `<rig>/<polecat>`, `<rig>/plugins/<name>` */
  address: string;
  rig: string | undefined;
  /** Polecat or plugin name. */
  name: string | undefined;
  home: string;
  /** From state.json; 'unknown' when it is missing or invalid (see `problem`). */
  state: AgentStateValue | 'unknown';
  issue: string | undefined;
  session: string | undefined;
  epoch: number | undefined;
  updated_at: string | undefined;
  last_activity: string | undefined;
  problem: string | undefined;
  /** A stuck agent's session waits at this screen for a human ("login"). */
  waiting_for?: string | undefined;
}

export interface RigStatus extends RigSummary {
  agents: AgentStatus[];
}

export interface TownStatus {
  name: string;
  root: string;
  created_at: string;
  mayor: AgentStatus;
  rigs: RigStatus[];
}

export interface AgentRef {
  role: AgentRole;
  address: string;
  rig?: string;
  name?: string;
  home: string;
}

/** Read one agent's state.json into an AgentStatus (never throws). */
export async function agentStatus(ref: AgentRef): Promise<AgentStatus> {
  const base = {
    role: ref.role,
    address: ref.address,
    rig: ref.rig,
    name: ref.name,
    home: ref.home,
  };
  const file = agentHomeFiles(ref.home).state;
  try {
    const s = await readJsonFile(file, AgentStateSchema);
    return {
      ...base,
      state: s.state,
      issue: s.issue,
      session: s.session,
      epoch: s.epoch,
      updated_at: s.updated_at,
      last_activity: s.last_activity,
      problem: undefined,
      waiting_for: s.state === 'stuck' ? s.waiting_for : undefined,
    };
  } catch (err) {
    const missing = !existsSync(file);
    // A plugin's state.json is optional (seed): without one it is simply idle.
    if (missing && ref.role === 'plugin')
      return {
        ...base,
        state: 'idle',
        issue: undefined,
        session: undefined,
        epoch: undefined,
        updated_at: undefined,
        last_activity: undefined,
        problem: undefined,
      };
    const problem = missing ? `${file}: file is missing` : errorMessage(err);
    return {
      ...base,
      state: 'unknown',
      issue: undefined,
      session: undefined,
      epoch: undefined,
      updated_at: undefined,
      last_activity: undefined,
      problem,
    };
  }
}

function namedDirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** Every agent of a rig: mayor, witness, refinery, polecats, plugins (in that order). */
export function rigAgents(townRoot: string, rig: string): AgentRef[] {
  const paths = rigPaths(townRoot, rig);
  return [
    { role: 'mayor', address: `${rig}/mayor`, rig, home: paths.mayorHome },
    { role: 'witness', address: `${rig}/witness`, rig, home: paths.witnessHome },
    { role: 'refinery', address: `${rig}/refinery`, rig, home: paths.refineryHome },
    ...namedDirs(paths.polecatsDir).map((name): AgentRef => ({
      role: 'polecat',
      address: `${rig}/${name}`,
      rig,
      name,
      home: join(paths.polecatsDir, name),
    })),
    ...namedDirs(paths.pluginsDir).map((name): AgentRef => ({
      role: 'plugin',
      address: `${rig}/plugins/${name}`,
      rig,
      name,
      home: join(paths.pluginsDir, name),
    })),
  ];
}

/** The whole town: its mayor, its rigs, and every agent's recorded state. */
export async function townStatus(townRoot: string): Promise<TownStatus> {
  const town = await loadTown(resolve(townRoot));
  const rigs = await listRigs(town.root);
  const mayor = await agentStatus({
    role: 'mayor',
    address: 'mayor',
    home: townPaths(town.root).mayorHome,
  });
  const rigStatuses = await Promise.all(
    rigs.map(async (rig) => ({
      ...rig,
      agents: rig.present
        ? await Promise.all(rigAgents(town.root, rig.name).map((ref) => agentStatus(ref)))
        : [],
    })),
  );
  return {
    name: town.config.name,
    root: town.root,
    created_at: town.config.created_at,
    mayor,
    rigs: rigStatuses,
  };
}
