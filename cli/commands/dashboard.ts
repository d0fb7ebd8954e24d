/**
 * gt dashboard [--no-open] [--json]: where the town daemon serves the Overseer's dashboard, with
 * the town's token in the URL. Opens it only on a terminal with a desktop browser at hand.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { GtError } from '../../proto/index.js';
import { err, out, printJson } from '../output.js';
import { coordinatorPaths, daemonLiveness } from '../runtime-files.js';
import { resolveTownRoot } from '../town-root.js';
import { optionsOf } from './context.js';

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The argv that opens a URL in a desktop browser here, or undefined when there is none. */
export function browserOpener(url: string, env = process.env): string[] | undefined {
  const chosen = env.BROWSER?.trim();
  if (chosen !== undefined && chosen !== '' && onPath(chosen, env) !== undefined)
    return [chosen, url];
  if (process.platform === 'darwin') return ['open', url];
  const desktop = (env.DISPLAY ?? '') !== '' || (env.WAYLAND_DISPLAY ?? '') !== '';
  if (!desktop) return undefined;
  const opener = onPath('xdg-open', env);
  return opener === undefined ? undefined : [opener, url];
}

export async function dashboard(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  const townRoot = resolveTownRoot(opts.town);
  const paths = coordinatorPaths(townRoot);
  const live = await daemonLiveness(paths);
  if (!live.running)
    throw new GtError(
      'GT_DAEMON_NOT_RUNNING',
      `the dashboard is served by the town daemon, which is not running for ${townRoot}`,
      { hint: 'start it with `gt up`, then run `gt dashboard` again' },
    );
  const { readDashboardInfo, readDashboardToken } = await import('../../coordinator/index.js');
  const info = readDashboardInfo(paths.dir);
  if (info === undefined || info.pid !== live.pid)
    throw new GtError('GT_DAEMON_FAILED', `the town daemon (pid ${live.pid}) serves no dashboard`, {
      hint: `read why in ${paths.log}; restart it with \`gt down\`, then \`gt up\``,
    });
  const token = readDashboardToken(paths.dir);
  const url = `${info.url}?token=${token}`;
  const opener =
    opts.open === false || process.stdout.isTTY !== true ? undefined : browserOpener(url);
  if (opts.json === true)
    printJson({ url, port: info.port, pid: info.pid, opened: opener !== undefined });
  else out(url);
  if (opener === undefined) return;
  const [command, ...rest] = opener as [string, ...string[]];
  const child = spawn(command, rest, { detached: true, stdio: 'ignore' });
  child.on('error', (e) =>
    err(`warning: could not open a browser (${e.message}); open the URL it printed`),
  );
  child.unref();
}
