/**
 * A plugin's agent session (`gt plugin start|stop`). A plugin is an agent like any other (seed),
 * so its session starts the way a polecat's does — agent preset, the session environment, wait
 * for the ready pattern, type the first prompt — on the town's tmux server, in the plugin's
 * `rig/` clone when it has one, else in its home. Its work arrives by mail (the hook points,
 * `gt send`); while the session runs, each new mail also types a notice into it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GtError, withFileLock } from '../../proto/index.js';
import type { AgentPreset } from '../agents/index.js';
import {
  deliverFirstPrompt,
  launchSession,
  presetFor,
  stamped,
  townTmux,
  updateAgentState,
  workDirOf,
  type AgentPlace,
} from '../sessions/index.js';
import {
  agentHomeFiles,
  loadTown,
  rigPaths,
  tryReadRigConfig,
  writeAgentHome,
} from '../town/index.js';
import { pluginInfoOf, requirePlugin, type PluginInfo } from './plugins.js';

export interface StartPluginOptions {
  townRoot: string;
  rig: string;
  name: string;
  /** Agent preset; empty: the town/rig settings for the plugin role. */
  agent?: string | undefined;
  /** First prompt; empty: defaultPluginPrompt. */
  prompt?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface StartPluginResult {
  plugin: PluginInfo;
  cwd: string;
  timings: { startMs: number; readyWaitMs: number; deliverMs: number; totalMs: number };
}

export function defaultPluginPrompt(rig: string, name: string): string {
  return `You are the ${name} plugin of rig ${rig}. Read your mail with \`gt inbox\` and act on each task; reply to the sender with \`gt send\`.`;
}

/** Held while a session is checked and started or killed, so two starts never race. */
const sessionLock = (place: AgentPlace): string => join(place.home, 'session');

async function writePluginHome(townRoot: string, place: AgentPlace): Promise<void> {
  const rig = place.rig ?? '';
  const town = await loadTown(townRoot);
  const config = await tryReadRigConfig(rigPaths(townRoot, rig).configJson);
  await writeAgentHome({
    home: place.home,
    template: 'plugin',
    facts: { town: town.config.name, rig, name: place.name, prefix: config?.beads.prefix },
  });
}

/** Check no session runs, record the start (working, new epoch), launch. Under the session lock. */
async function launchPlugin(
  o: StartPluginOptions,
  place: AgentPlace,
  preset: AgentPreset,
): Promise<number> {
  const tmux = townTmux(o.townRoot);
  return withFileLock(sessionLock(place), async () => {
    if (await tmux.hasSession(place.session))
      throw new GtError(
        'GT_CONFLICT',
        `plugin ${place.address} is already running (session ${place.session})`,
        {
          hint: `stop it first with \`gt plugin stop ${place.rig ?? ''}/${place.name ?? ''}\`, or look at it with \`gt capture ${place.address}\``,
        },
      );
    const state = await updateAgentState(place.home, 'plugin', (s) =>
      stamped({
        ...s,
        state: 'working',
        session: place.session,
        agent: preset.name,
        epoch: (s.epoch ?? 0) + 1,
        active: true,
      }),
    );
    const epoch = state.epoch ?? 1;
    try {
      await launchSession(tmux, { townRoot: o.townRoot, place, epoch, preset, signal: o.signal });
    } catch (err) {
      await markIdle(place).catch(() => undefined);
      throw err;
    }
    return epoch;
  });
}

export async function startPlugin(o: StartPluginOptions): Promise<StartPluginResult> {
  const started = Date.now();
  const place = await requirePlugin(o.townRoot, o.rig, o.name);
  const preset = presetFor(o.townRoot, o.rig, 'plugin', o.agent);
  await writePluginHome(o.townRoot, place);
  const epoch = await launchPlugin(o, place, preset);
  const startMs = Date.now() - started;
  const prompt =
    o.prompt === undefined || o.prompt.trim() === ''
      ? defaultPluginPrompt(o.rig, o.name)
      : o.prompt;
  const delivered = await deliverFirstPrompt(townTmux(o.townRoot), {
    townRoot: o.townRoot,
    place,
    epoch,
    preset,
    prompt,
    signal: o.signal,
  });
  return {
    plugin: await pluginInfoOf(o.townRoot, place),
    cwd: workDirOf(place),
    timings: { startMs, ...delivered, totalMs: Date.now() - started },
  };
}

/** idle, no session recorded. */
function markIdle(place: AgentPlace): Promise<unknown> {
  return updateAgentState(place.home, 'plugin', (s) => {
    const { session: _s, ...rest } = s;
    return stamped({ ...rest, state: 'idle' });
  });
}

/** Kill the plugin's session (if any) and set it idle; its clone and mail are kept. */
export async function stopPlugin(
  townRoot: string,
  rig: string,
  name: string,
): Promise<{ plugin: PluginInfo; killed: boolean }> {
  const place = await requirePlugin(townRoot, rig, name);
  const killed = await withFileLock(sessionLock(place), async () => {
    const k = await townTmux(townRoot).killSession(place.session);
    // A plugin never started has no state.json (optional, seed): do not create one to stop it.
    if (k || existsSync(agentHomeFiles(place.home).state)) await markIdle(place);
    return k;
  });
  return { plugin: await pluginInfoOf(townRoot, place), killed };
}
