import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package root: the folder holding our package.json (cli/ in source, dist/cli/ when built). */
function findPackageRoot(): string {
  for (const up of ['../', '../../']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(`${dir}package.json`) && existsSync(`${dir}proto`)) return dir;
  }
  throw new Error('cannot find the gastown package.json');
}

export const PACKAGE_ROOT = findPackageRoot();

export const GT_PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, 'utf8')) as { version: string }
).version;
