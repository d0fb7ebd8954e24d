/**
 * Plugins as the seed has them: a directory `<rig>/plugins/<name>/` is a plugin — no manifest,
 * no registration. `gt plugins <rig>` lists them with what is on disk; `gt plugin status`
 * shows one.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GtError, parseAddress } from '../../proto/index.js';
import { Mailbox } from '../mail/index.js';
import {
  liveSessions,
  placeAgent,
  readAgentState,
  requireRig,
  type AgentPlace,
} from '../sessions/index.js';
import { agentSession, rigPaths } from '../town/index.js';

export interface PluginInfo {
  rig: string;
  name: string;
  address: string;
  home: string;
  state: string;
  unread: number;
  total: number;
  hasClaudeMd: boolean;
  hasClone: boolean;
  session: string;
  sessionAlive: boolean;
  lastSubject: string;
  /** Preset and epoch of the last `gt plugin start` ('' / 0: never started). */
  agent: string;
  epoch: number;
}

async function pluginInfo(
  home: string,
  rig: string,
  name: string,
  live: Set<string>,
): Promise<PluginInfo> {
  const address = `${rig}/plugins/${name}`;
  const recorded = existsSync(join(home, 'state.json'))
    ? ((await readAgentState(home, 'plugin').catch(() => undefined)) ?? 'invalid')
    : 'none';
  const state = typeof recorded === 'string' ? recorded : recorded.state;
  const mail = await new Mailbox({ home }).list().catch(() => []);
  const session = agentSession(home, address);
  return {
    rig,
    name,
    address,
    home,
    state,
    unread: mail.filter((m) => !m.read).length,
    total: mail.length,
    hasClaudeMd: existsSync(join(home, 'CLAUDE.md')),
    hasClone: existsSync(join(home, 'rig', '.git')),
    session,
    sessionAlive: live.has(session),
    lastSubject: mail.at(-1)?.subject ?? '',
    agent: typeof recorded === 'string' ? '' : (recorded.agent ?? ''),
    epoch: typeof recorded === 'string' ? 0 : (recorded.epoch ?? 0),
  };
}

function pluginNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory())
    .sort();
}

export async function listPlugins(townRoot: string, rig: string): Promise<PluginInfo[]> {
  await requireRig(townRoot, rig);
  const dir = rigPaths(townRoot, rig).pluginsDir;
  const names = pluginNames(dir);
  if (names.length === 0) return [];
  const live = await liveSessions(townRoot);
  return Promise.all(names.map((n) => pluginInfo(join(dir, n), rig, n, live)));
}

/**
 * The plugin `<rig>/plugins/<name>` as an agent place; a missing plugin is an error that lists
 * the rig's plugins. A name that is not a valid plugin name is an invalid address (exit 2).
 */
export async function requirePlugin(
  townRoot: string,
  rig: string,
  name: string,
): Promise<AgentPlace> {
  parseAddress(`${rig}/plugins/${name}`);
  await requireRig(townRoot, rig);
  const dir = rigPaths(townRoot, rig).pluginsDir;
  const home = join(dir, name);
  if (!existsSync(home) || !statSync(home).isDirectory()) {
    const names = pluginNames(dir);
    throw new GtError('GT_NOT_FOUND', `no plugin "${name}" in rig ${rig}`, {
      hint: `${names.length === 0 ? `${rig} has no plugins` : `plugins of ${rig}: ${names.join(', ')}`}; a plugin is a directory: mkdir ${home}`,
    });
  }
  return placeAgent(townRoot, `${rig}/plugins/${name}`);
}

/** One plugin's info (the place must be a plugin: see requirePlugin). */
export async function pluginInfoOf(townRoot: string, place: AgentPlace): Promise<PluginInfo> {
  return pluginInfo(place.home, place.rig ?? '', place.name ?? '', await liveSessions(townRoot));
}

/** `<rig>/<name>` or `<rig>/plugins/<name>`. */
export async function pluginStatus(townRoot: string, target: string): Promise<PluginInfo> {
  const parts = target.split('/').filter((p) => p !== '');
  const rig = parts[0];
  const name = parts.at(-1);
  if (
    rig === undefined ||
    name === undefined ||
    parts.length < 2 ||
    (parts.length === 3 && parts[1] !== 'plugins') ||
    parts.length > 3
  )
    throw new GtError('GT_USAGE', `"${target}": say <rig>/<plugin>`, {
      hint: 'e.g. gt plugin status wyvern/merge-oracle',
    });
  return pluginInfoOf(townRoot, await requirePlugin(townRoot, rig, name));
}
