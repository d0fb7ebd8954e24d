/**
 * Launching an agent session: its preset (town `config/agents.json`, rig `<rig>/agents.json`,
 * then `--agent`), the environment of DESIGN.md §5, and a bin dir so `gt` and `bd` resolve inside
 * the session to this very installation of Gas Town.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonText } from '../../proto/index.js';
import { findCliScript } from '../cli-scripts.js';
import {
  AgentSettingsSchema,
  presetForUser,
  resolveAgentPreset,
  startAgent,
  type AgentPreset,
  type AgentSettings,
} from '../agents/index.js';
import { rigPaths, townPaths, type AgentRole } from '../town/index.js';
import type { TmuxServer } from '../tmux/index.js';
import { workDirOf, type AgentPlace } from './agent-home.js';

/** Town-level agent settings file (AgentSettings, see agents/presets.ts). */
export function townAgentsFile(townRoot: string): string {
  return join(townPaths(townRoot).configDir, 'agents.json');
}

/** Rig-level agent settings file, overriding the town's. */
export function rigAgentsFile(townRoot: string, rig: string): string {
  return join(rigPaths(townRoot, rig).root, 'agents.json');
}

function readSettings(file: string): AgentSettings | undefined {
  if (!existsSync(file)) return undefined;
  return parseJsonText(file, readFileSync(file, 'utf8'), AgentSettingsSchema);
}

export function presetFor(
  townRoot: string,
  rig: string | undefined,
  role: AgentRole,
  requested?: string,
): AgentPreset {
  const town = readSettings(townAgentsFile(townRoot));
  const rigSettings = rig === undefined ? undefined : readSettings(rigAgentsFile(townRoot, rig));
  return resolveAgentPreset({
    role,
    ...(town === undefined ? {} : { town }),
    ...(rigSettings === undefined ? {} : { rig: rigSettings }),
    ...(requested === undefined || requested === '' ? {} : { requested }),
  });
}

/**
 * `<town>/run/bin/{gt,bd}`: tiny sh wrappers exec'ing this installation's node and CLI bundles.
 * Written every launch (cheap) so an upgrade is picked up by the next session.
 */
export function ensureBinDir(townRoot: string): string {
  const bin = join(townPaths(townRoot).runDir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['gt', 'bd'] as const) {
    const script = findCliScript(tool);
    const body = `#!/bin/sh\nexec '${process.execPath.replace(/'/g, `'\\''`)}' '${script.replace(/'/g, `'\\''`)}' "$@"\n`;
    const path = join(bin, tool);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== body)
      writeFileSync(path, body, { mode: 0o755 });
  }
  return bin;
}

export interface AgentEnvOptions {
  townRoot: string;
  place: AgentPlace;
  epoch: number;
}

/** GT_TOWN, GT_ROLE, GT_RIG, GT_POLECAT / GT_PLUGIN, GT_ADDRESS, GT_EPOCH, BEADS_DIR, BD_ACTOR, git identity, PATH; GT_AGENT_SOCKET on a worker machine. */
export function agentEnv(options: AgentEnvOptions): Record<string, string> {
  const { townRoot, place } = options;
  const bin = ensureBinDir(townRoot);
  const who = place.name ?? place.role;
  const email = `${who}.${place.rig ?? 'town'}@gastown.invalid`.replace(/[^A-Za-z0-9.@_-]/g, '-');
  const env: Record<string, string> = {
    GT_TOWN: townRoot,
    GT_ROLE: place.role,
    GT_ADDRESS: place.address,
    GT_EPOCH: String(options.epoch),
    BD_ACTOR: place.address,
    GIT_AUTHOR_NAME: place.address,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: place.address,
    GIT_COMMITTER_EMAIL: email,
    PATH: `${bin}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
  };
  if (place.rig !== undefined) {
    env.GT_RIG = place.rig;
    env.BEADS_DIR = rigPaths(townRoot, place.rig).beadsDir;
  }
  if (place.role === 'polecat' && place.name !== undefined) env.GT_POLECAT = place.name;
  // On a worker machine the node agent serves the coordinator to its sessions on this socket
  // (agent-socket.ts); that path is all a session learns about the coordinator.
  const relay = join(townRoot, 'run', 'agent-gt.sock');
  if (existsSync(relay)) env.GT_AGENT_SOCKET = relay;
  if (place.role === 'plugin' && place.name !== undefined) env.GT_PLUGIN = place.name;
  return env;
}

/**
 * Start an agent's session in its work dir (workDirOf) with the environment above. Returns the
 * notes on what was done for the agent (running as root: presetForUser).
 */
export async function launchSession(
  tmux: TmuxServer,
  options: AgentEnvOptions & { preset: AgentPreset; signal?: AbortSignal },
): Promise<string[]> {
  const { place } = options;
  const env = agentEnv(options);
  const forUser = presetForUser(options.preset, process.getuid?.());
  // tmux gives a new pane the PATH of the tmux *client*, whatever `-e PATH=` says: set it with
  // env(1) in front of the agent's argv (still no shell).
  const preset = {
    ...forUser.preset,
    command: ['/usr/bin/env', `PATH=${env.PATH ?? ''}`, ...forUser.preset.command],
  };
  await startAgent(tmux, {
    session: place.session,
    cwd: workDirOf(place),
    env,
    preset,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return forUser.notes;
}
