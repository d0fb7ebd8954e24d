/**
 * `gt prime`: which role a directory belongs to, and the context an agent there needs (its role
 * prompt, where it is, and the environment Gas Town gives that role).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { GtError, RESERVED_NAMES } from '../../proto/index.js';
import { rigPaths, townPaths } from './layout.js';
import { tryReadRigConfig } from './rigs.js';
import { rolePrompt, type TemplateRole } from './templates.js';
import { loadTown, requireTownRoot } from './town.js';

export type PrimeRole = 'town' | 'rig' | TemplateRole;

export interface PrimeOptions {
  /** Default: the town containing `cwd`. */
  townRoot?: string | undefined;
  cwd: string;
}

export interface PrimeContext {
  role: PrimeRole;
  rig: string | undefined;
  /** Polecat or plugin name. */
  name: string | undefined;
  /** The role's address; `overseer` at the town root and a rig root (no agent lives there). */
  address: string;
  /** The role's home directory. */
  home: string;
  /** Where the role does its work (its clone), when it has one. */
  workDir: string | undefined;
  townRoot: string;
  /** GT_* and BEADS_DIR as Gas Town sets them for a session of this role. */
  env: Record<string, string>;
  /** The text to print. */
  text: string;
}

interface Placement {
  role: PrimeRole;
  rig?: string;
  name?: string;
}

function place(townRoot: string, cwd: string): Placement {
  const rel = relative(townRoot, cwd);
  const parts = rel === '' ? [] : rel.split(sep);
  const [first, second, third] = parts;
  if (first === undefined || first.startsWith('..')) return { role: 'town' };
  if (first === 'mayor') return { role: 'mayor' };
  if (RESERVED_NAMES.has(first) || !existsSync(rigPaths(townRoot, first).configJson))
    return { role: 'town' };
  const rig = first;
  if (second === 'refinery') return { role: 'refinery', rig };
  if (second === 'witness') return { role: 'witness', rig };
  if (second === 'mayor') return { role: 'rig-mayor', rig };
  if (second === 'polecats' && third !== undefined) return { role: 'polecat', rig, name: third };
  if (second === 'plugins' && third !== undefined) return { role: 'plugin', rig, name: third };
  return { role: 'rig', rig };
}

function addressOf(p: Placement): string {
  switch (p.role) {
    case 'town':
    case 'rig':
      return 'overseer';
    case 'mayor':
      return 'mayor';
    case 'rig-mayor':
      return `${p.rig}/mayor`;
    case 'polecat':
      return `${p.rig}/${p.name}`;
    case 'plugin':
      return `${p.rig}/plugins/${p.name}`;
    default:
      return `${p.rig}/${p.role}`;
  }
}

function homeOf(townRoot: string, p: Placement): { home: string; workDir: string | undefined } {
  if (p.rig === undefined)
    return p.role === 'mayor'
      ? { home: townPaths(townRoot).mayorHome, workDir: undefined }
      : { home: townRoot, workDir: undefined };
  const paths = rigPaths(townRoot, p.rig);
  switch (p.role) {
    case 'refinery':
      return { home: paths.refineryHome, workDir: paths.refineryClone };
    case 'witness':
      return { home: paths.witnessHome, workDir: undefined };
    case 'rig-mayor':
      return { home: paths.mayorHome, workDir: paths.mayorClone };
    case 'polecat': {
      const home = join(paths.polecatsDir, p.name ?? '');
      return { home, workDir: home };
    }
    case 'plugin': {
      const home = join(paths.pluginsDir, p.name ?? '');
      const clone = join(home, 'rig');
      return { home, workDir: existsSync(clone) ? clone : undefined };
    }
    default:
      return { home: paths.root, workDir: undefined };
  }
}

function envFor(townRoot: string, p: Placement, address: string): Record<string, string> {
  const env: Record<string, string> = { GT_TOWN: townRoot, GT_ROLE: p.role };
  if (p.rig !== undefined) {
    env['GT_RIG'] = p.rig;
    env['BEADS_DIR'] = rigPaths(townRoot, p.rig).beadsDir;
  }
  if (p.role === 'polecat' && p.name !== undefined) env['GT_POLECAT'] = p.name;
  if (p.role === 'plugin' && p.name !== undefined) env['GT_PLUGIN'] = p.name;
  if (address !== 'overseer') {
    env['GT_ADDRESS'] = address;
    env['BD_ACTOR'] = address;
  }
  return env;
}

function orientation(p: Placement, town: string): string {
  if (p.role === 'rig')
    return `# Rig "${p.rig}" of town "${town}" — a container, not a git clone

Nobody works here. Agents work in their own homes:
- refinery/rig — the authoritative main clone (Refinery)
- mayor/rig — the Mayor's clone; witness/ — the Witness (no clone)
- polecats/<name> — one full clone per worker; plugins/<name> — plugin agents
If you are an agent and landed here, cd to your own home and run \`gt prime\` again.
`;
  return `# Town "${town}" — the Overseer's view

This is the town root: config/ (town.json, rigs.json, federation.json), mayor/ (the Mayor's
home), run/ (sockets, pid files, logs) and one folder per rig. Useful: \`gt status\`, \`gt rigs\`,
\`gt doctor\`, \`gt rig add <name> <git_url>\`. Agents never work here.
`;
}

/**
 * A directory given relative to the town (what a caller on another machine sends) as a path of
 * this machine's town; one that would leave the town is refused.
 */
export function townDirectory(townRoot: string, townPath: string): string {
  const rel = normalize(townPath === '' ? '.' : townPath);
  if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`))
    throw new GtError('GT_INVALID_ARGUMENT', `"${townPath}" is not a path inside the town`, {
      hint: 'give a directory relative to the town root, e.g. wyvern/polecats/Nux',
    });
  return join(townRoot, rel);
}

/** Detect the role of `cwd` and build its context text. */
export async function primeContext(options: PrimeOptions): Promise<PrimeContext> {
  const cwd = resolve(options.cwd);
  const townRoot = resolve(options.townRoot ?? requireTownRoot(cwd));
  const town = await loadTown(townRoot);
  const p = place(townRoot, cwd);
  const address = addressOf(p);
  const { home, workDir } = homeOf(townRoot, p);
  const env = envFor(townRoot, p, address);
  const prefix =
    p.rig === undefined
      ? undefined
      : (await tryReadRigConfig(rigPaths(townRoot, p.rig).configJson))?.beads.prefix;
  const body =
    p.role === 'town' || p.role === 'rig'
      ? orientation(p, town.config.name)
      : rolePrompt(p.role, { town: town.config.name, rig: p.rig, name: p.name, prefix });
  const where = [
    '## Where you are',
    `- role: ${p.role}${address === 'overseer' ? '' : ` (address ${address})`}`,
    `- town: ${town.config.name} at ${townRoot}`,
    ...(p.rig === undefined ? [] : [`- rig: ${p.rig}`]),
    `- home: ${home}`,
    ...(workDir === undefined ? [] : [`- work in: ${workDir}`]),
    ...(prefix === undefined ? [] : [`- beads issue prefix: ${prefix}`]),
    '',
    '## Environment',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
  ].join('\n');
  return {
    role: p.role,
    rig: p.rig,
    name: p.name,
    address,
    home,
    workDir,
    townRoot,
    env,
    text: `${body}\n${where}\n`,
  };
}
