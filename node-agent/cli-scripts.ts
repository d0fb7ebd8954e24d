/**
 * Where this installation's `gt` and `bd` programs are: `gt.mjs` / `bd.mjs` beside the node agent
 * on a provisioned machine (the agent bundle), `dist/cli/gt.js` / `bd.js` in a built checkout or
 * package. Found by walking up from this code, so it holds for dist/, the bundle and the sources.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GtError } from '../proto/index.js';

export type CliTool = 'gt' | 'bd' | 'bd-run';

export function findCliScript(tool: CliTool, from = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidates = [
      join(dir, `${tool}.mjs`),
      join(dir, 'cli', `${tool}.js`),
      join(dir, 'dist', 'cli', `${tool}.js`),
    ];
    for (const c of candidates) if (existsSync(c)) return c;
    if (dirname(dir) === dir) break;
  }
  throw new GtError('GT_INTERNAL', `cannot find this installation's ${tool} program`, {
    hint: 'build Gas Town with `npm run build`; on a worker machine, `gt machine provision NAME` installs it',
  });
}
