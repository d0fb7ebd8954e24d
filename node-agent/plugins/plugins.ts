/**
 * Plugins as the seed has them: a directory `<rig>/plugins/<name>/` is a plugin — no manifest,
 * no registration. `gt plugins <rig>` lists them with what is on disk; `gt plugin status`
 * shows one.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GtError } from '../../proto/index.js';
import { Mailbox } from '../mail/index.js';
import { liveSessions, readAgentState, requireRig } from '../sessions/index.js';
import { rigPaths } from '../town/index.js';
import { sessionNameFor } from '../tmux/index.js';

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
}

async function pluginInfo(
  home: string,
  rig: string,
  name: string,
  live: Set<string>,
): Promise<PluginInfo> {
  const address = `${rig}/plugins/${name}`;
  const state = existsSync(join(home, 'state.json'))
    ? ((await readAgentState(home, 'plugin').catch(() => undefined))?.state ?? 'invalid')
    : 'none';
  const mail = await new Mailbox({ home }).list().catch(() => []);
  const session = sessionNameFor(address);
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
  };
}

export async function listPlugins(townRoot: string, rig: string): Promise<PluginInfo[]> {
  await requireRig(townRoot, rig);
  const dir = rigPaths(townRoot, rig).pluginsDir;
  if (!existsSync(dir)) return [];
  const live = await liveSessions(townRoot);
  const names = readdirSync(dir)
    .filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory())
    .sort();
  return Promise.all(names.map((n) => pluginInfo(join(dir, n), rig, n, live)));
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
  const found = (await listPlugins(townRoot, rig)).find((p) => p.name === name);
  if (found === undefined)
    throw new GtError('GT_NOT_FOUND', `no plugin "${name}" in rig ${rig}`, {
      hint: `a plugin is a directory: mkdir ${join(rigPaths(townRoot, rig).pluginsDir, name)}`,
    });
  return found;
}
