// The one source of the version is package.json. Bundles get it injected at build time (esbuild
// `define` of __GT_VERSION__, deploy/bundle.mjs); sources run by tsc/vitest read package.json once,
// found by packageRoot(), the one package-root finder.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __GT_VERSION__: string | undefined;
/** Set only when deploy/agent-bundle.mjs builds an agent with `--protocol N` (older agents in tests). */
declare const __GT_PROTOCOL_VERSION__: number | undefined;

const PACKAGE_NAME = 'gastown';
let root: string | undefined;

/**
 * The package root: the nearest folder above this module holding gastown's package.json
 * (the repo in source; the repo or the installed package when bundled into dist/).
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && packageJson(manifest).name === PACKAGE_NAME) return (root = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package.json`);
    dir = parent;
  }
}

function packageJson(path: string): { name?: string; version?: string } {
  return JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
}

function readVersion(): string {
  const version = packageJson(join(packageRoot(), 'package.json')).version;
  if (typeof version !== 'string') throw new Error(`${PACKAGE_NAME} package.json has no version`);
  return version;
}

/** Versions exchanged in the handshake. The coordinator accepts agents one protocol version behind. */
export const GT_VERSION: string =
  typeof __GT_VERSION__ === 'string' ? __GT_VERSION__ : readVersion();
export const PROTOCOL_VERSION: number =
  typeof __GT_PROTOCOL_VERSION__ === 'number' ? __GT_PROTOCOL_VERSION__ : 1;
export const MIN_PROTOCOL_VERSION = PROTOCOL_VERSION - 1;
