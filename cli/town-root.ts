/** Where the town is: --town, then GT_TOWN, then walking up from cwd to a dir with config/town.json. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GtError } from '../proto/index.js';

export function findTownRootFrom(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'config', 'town.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function resolveTownRoot(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string {
  const explicit = flag ?? env.GT_TOWN;
  if (explicit !== undefined && explicit !== '') {
    const root = resolve(cwd, explicit);
    if (!existsSync(join(root, 'config', 'town.json'))) {
      throw new GtError('GT_NOT_A_TOWN', `${root} is not a Gas Town town (no config/town.json)`, {
        hint: `create one with \`gt install ${root}\`, or point --town / GT_TOWN at an existing town`,
      });
    }
    return root;
  }
  const found = findTownRootFrom(cwd);
  if (found === undefined) {
    throw new GtError(
      'GT_NOT_A_TOWN',
      `not inside a Gas Town town: no config/town.json in ${cwd} or any parent`,
      {
        hint: 'cd into a town, pass --town <path> or set GT_TOWN; create a town with `gt install <path>`',
      },
    );
  }
  return found;
}
