/** gt plugins / plugin status|start|stop: plugin directories and their agent sessions. */
import {
  GtError,
  ListPluginsResponseSchema,
  StartPluginResponseSchema,
  StopPluginResponseSchema,
  parseAddress,
  type PluginInfo,
} from '../../proto/index.js';
import { messageJson, out, printJson, table } from '../output.js';
import { optionsOf, withCoordinator } from './context.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `<rig>/<name>` or `<rig>/plugins/<name>` → rig and name; anything else is a usage error. */
export function pluginTarget(target: string, verb: string): { rig: string; name: string } {
  const parts = target.split('/');
  const [rig, second, third] = parts;
  const name =
    parts.length === 2 ? second : parts.length === 3 && second === 'plugins' ? third : '';
  if (rig === undefined || rig === '' || name === undefined || name === '')
    throw new GtError('GT_USAGE', `"${target}" is not a plugin: say <rig>/<plugin>`, {
      hint: `e.g. gt plugin ${verb} wyvern/merge-oracle (list them with \`gt plugins <rig>\`)`,
    });
  parseAddress(`${rig}/plugins/${name}`); // a bad rig or plugin name: GT_INVALID_ADDRESS (exit 2)
  return { rig, name };
}

/** alive | gone (state says it runs, tmux says no) | '' (not started). */
function sessionCell(p: PluginInfo): string {
  if (p.sessionAlive) return 'alive';
  return p.state === 'working' || p.state === 'stuck' ? 'gone' : '';
}

export async function plugins(...args: unknown[]): Promise<void> {
  const [rig] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.listPlugins({ rig, name: '' });
    if (opts.json === true) return printJson(messageJson(ListPluginsResponseSchema, r));
    if (r.plugins.length === 0)
      return out(`No plugins in ${rig}: a plugin is a directory, \`mkdir ${rig}/plugins/<name>\`.`);
    out(
      table(
        ['PLUGIN', 'STATE', 'SESSION', 'AGENT', 'UNREAD', 'MAIL', 'LAST SUBJECT'],
        r.plugins.map((p) => [
          p.address,
          p.state,
          sessionCell(p),
          p.agent,
          String(p.unread),
          String(p.total),
          p.lastSubject,
        ]),
      ),
    );
  });
}

function printPlugin(p: PluginInfo): void {
  out(`${p.address}: ${p.state}`);
  out(`  home      ${p.home}`);
  out(
    `  mail      ${p.unread} unread of ${p.total}${p.lastSubject === '' ? '' : ` (last: ${p.lastSubject})`}`,
  );
  out(`  CLAUDE.md ${p.hasClaudeMd ? 'yes' : 'no'}; clone ${p.hasClone ? 'yes' : 'no'}`);
  const started = p.agent === '' ? '' : ` (agent ${p.agent}, epoch ${p.epoch})`;
  const cell = sessionCell(p);
  out(`  session   ${p.session} ${cell === '' ? 'not running' : cell}${started}`);
}

export async function pluginStatus(...args: unknown[]): Promise<void> {
  const [target] = args as [string];
  const opts = optionsOf(args);
  const { rig, name } = pluginTarget(target, 'status');
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.listPlugins({ rig, name });
    if (opts.json === true) return printJson(messageJson(ListPluginsResponseSchema, r));
    for (const p of r.plugins) printPlugin(p);
  });
}

export async function pluginStart(...args: unknown[]): Promise<void> {
  const [target] = args as [string];
  const opts = optionsOf(args);
  const { rig, name } = pluginTarget(target, 'start');
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.startPlugin({
      rig,
      name,
      agent: str(opts.agent),
      prompt: str(opts.prompt),
    });
    if (opts.json === true) return printJson(messageJson(StartPluginResponseSchema, r));
    const p = r.plugin;
    out(
      `started ${p?.address ?? target} (session ${p?.session ?? ''}, agent ${p?.agent ?? ''}, epoch ${p?.epoch ?? ''}) in ${r.cwd}`,
    );
    out(
      `prompt delivered in ${r.totalMs} ms (start ${r.startMs}, ready wait ${r.readyWaitMs}, typing ${r.deliverMs}); stop it with \`gt plugin stop ${rig}/${name}\``,
    );
  });
}

export async function pluginStop(...args: unknown[]): Promise<void> {
  const [target] = args as [string];
  const opts = optionsOf(args);
  const { rig, name } = pluginTarget(target, 'stop');
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.stopPlugin({ rig, name });
    if (opts.json === true) return printJson(messageJson(StopPluginResponseSchema, r));
    const session = r.plugin?.session ?? '';
    out(
      r.killed
        ? `stopped ${r.plugin?.address ?? target}: killed session ${session}; state idle`
        : `no session ${session} was running; ${r.plugin?.address ?? target} is idle`,
    );
  });
}
