/**
 * A Town on disk: install it, find it from any directory inside it, load and validate it, and
 * read/update its rig registry (config/rigs.json, always under its lock).
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import {
  GtError,
  readJsonFile,
  updateJsonFile,
  writeJsonAtomic,
  writeFileAtomic,
  MAX_TOWN_ROOT_BYTES,
  townRootProblem,
} from '../../proto/index.js';
import { agentHomeFiles, townPaths, writeAgentHome } from './layout.js';
import {
  RigsRegistrySchema,
  TownConfigSchema,
  type FederationFile,
  type RigEntry,
  type RigsRegistry,
  type TownConfig,
} from './schemas.js';
import { rolePrompt } from './templates.js';

export interface InstallTownOptions {
  /** Directory to install into; created when missing. */
  root: string;
  /** Town name; default: the directory's basename. */
  name?: string | undefined;
  /** Re-install over an existing town: rewrites town.json and the mayor's CLAUDE.md, keeps the
   * rig registry, federation config, mail and state. */
  force?: boolean | undefined;
}

export interface InstalledTown {
  root: string;
  town: TownConfig;
  /** Files written, relative to the root. */
  files: string[];
}

export interface Town {
  root: string;
  config: TownConfig;
}

export function initialFederation(): FederationFile {
  return { version: 1, machines: { local: { type: 'local' } } };
}

export function emptyRegistry(): RigsRegistry {
  return { version: 1, rigs: {} };
}

function checkTownName(name: string): void {
  if (name.trim().length === 0 || name.length > 64 || /[\n\r\t/]/.test(name)) {
    throw new GtError('GT_INVALID_ARGUMENT', `invalid town name "${name}"`, {
      hint: 'use 1–64 characters without slashes or line breaks, e.g. --name my-town',
    });
  }
}

function refuseUnlessInstallable(root: string, force: boolean): void {
  if (!existsSync(root)) return;
  if (!statSync(root).isDirectory())
    throw new GtError('GT_DIR_NOT_EMPTY', `${root} exists and is not a directory`, {
      hint: 'choose another path for the town',
    });
  const paths = townPaths(root);
  if (existsSync(paths.townJson)) {
    if (force) return;
    throw new GtError('GT_TOWN_EXISTS', `a town is already installed at ${root}`, {
      hint: 'use it as it is (`gt status`), check it with `gt doctor`, or pass --force to re-install (keeps rigs, mail and state)',
    });
  }
  // .gt/ (the node agent's versions, on a provisioned machine) and run/ (its socket and pid) are
  // made before the town is installed there; they do not make the directory "not empty".
  if (readdirSync(root).filter((n) => n !== '.gt' && n !== 'run').length > 0)
    throw new GtError('GT_DIR_NOT_EMPTY', `${root} is not empty and is not a Gas Town town`, {
      hint: 'install into a new or empty directory (e.g. `gt install ~/gt`); gt never merges a town into existing files',
    });
}

const WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'it does not accept new directories',
  ENOSPC: 'no space left on the device',
};

function notWritable(root: string, dir: string, code: string): GtError {
  const why = WHY[code] ?? code;
  return new GtError(
    'GT_NOT_WRITABLE',
    `cannot install a town at ${root}: ${dir} is not writable (${why})`,
    {
      hint: 'choose a path in a directory you can write to (e.g. `gt install ~/gt`)',
    },
  );
}

/**
 * Create `root` one level at a time below its nearest existing ancestor, which must be a writable
 * directory. Never a recursive mkdir from the top: Node's loops forever under /proc, and its
 * errors (EPERM under /sys) would surface as internal errors.
 */
function makeTownDir(root: string): void {
  const missing: string[] = [];
  let dir = root;
  while (!existsSync(dir)) {
    missing.unshift(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  if (missing.length === 0) return;
  if (!statSync(dir).isDirectory()) throw notWritable(root, dir, 'it is not a directory');
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw notWritable(root, dir, (e as NodeJS.ErrnoException).code ?? 'no write permission');
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(m).isDirectory()) continue;
      throw notWritable(root, dirname(m), code ?? String(e));
    }
  }
}

async function previousCreatedAt(townJson: string): Promise<string | undefined> {
  if (!existsSync(townJson)) return undefined;
  return (await readJsonFile(townJson, TownConfigSchema).catch(() => undefined))?.created_at;
}

/** Create a town: config/, mayor/ home, run/. */
export async function installTown(options: InstallTownOptions): Promise<InstalledTown> {
  const root = resolve(options.root);
  const force = options.force === true;
  const tooLong = townRootProblem(root);
  if (tooLong !== undefined)
    throw new GtError('GT_INVALID_ARGUMENT', tooLong, {
      hint: `install it at a shorter path (at most ${MAX_TOWN_ROOT_BYTES} bytes), e.g. gt install ~/gt`,
    });
  refuseUnlessInstallable(root, force);
  const name = options.name ?? basename(root);
  checkTownName(name);
  const paths = townPaths(root);
  const written: string[] = [];
  makeTownDir(root);
  mkdirSync(paths.configDir, { recursive: true });
  mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  const town: TownConfig = {
    type: 'town',
    version: 1,
    name,
    created_at: (await previousCreatedAt(paths.townJson)) ?? new Date().toISOString(),
  };
  await writeJsonAtomic(paths.townJson, town);
  written.push(paths.townJson);
  if (!existsSync(paths.rigsJson)) {
    await writeJsonAtomic(paths.rigsJson, emptyRegistry());
    written.push(paths.rigsJson);
  }
  if (!existsSync(paths.federationJson)) {
    await writeJsonAtomic(paths.federationJson, initialFederation());
    written.push(paths.federationJson);
  }
  const mayorFiles = agentHomeFiles(paths.mayorHome);
  if (force && existsSync(mayorFiles.claudeMd)) {
    await writeFileAtomic(mayorFiles.claudeMd, rolePrompt('mayor', { town: name }));
    written.push(mayorFiles.claudeMd);
  }
  written.push(
    ...(await writeAgentHome({ home: paths.mayorHome, template: 'mayor', facts: { town: name } })),
  );
  return { root, town, files: written.map((file) => relative(root, file)) };
}

/** The town containing `startDir` (walking up to config/town.json), or undefined. */
export function findTownRoot(startDir: string): string | undefined {
  let dir = resolve(startDir);
  for (;;) {
    if (existsSync(join(dir, 'config', 'town.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Like findTownRoot, but GT_NOT_A_TOWN when there is none. */
export function requireTownRoot(startDir: string): string {
  const root = findTownRoot(startDir);
  if (root === undefined)
    throw new GtError('GT_NOT_A_TOWN', `${resolve(startDir)} is not inside a Gas Town town`, {
      hint: 'cd into a town (a directory with config/town.json), set GT_TOWN, or create one with `gt install <path>`',
    });
  return root;
}

/** Read and validate config/town.json. */
export async function loadTown(root: string): Promise<Town> {
  const paths = townPaths(resolve(root));
  if (!existsSync(paths.townJson))
    throw new GtError('GT_NOT_A_TOWN', `${paths.root} is not a town: config/town.json is missing`, {
      hint: 'create a town with `gt install <path>`, or run gt from inside an existing town',
    });
  const config = await readJsonFile(paths.townJson, TownConfigSchema, {
    hint: `fix the named field in ${paths.townJson} (shape: {"type":"town","version":1,"name":"…","created_at":"<ISO time>"})`,
  });
  return { root: paths.root, config };
}

const RIGS_HINT =
  'fix the named field, or run `gt doctor --fix` to set the broken file aside and rebuild the registry from the rigs on disk';

export function readRigsRegistry(townRoot: string): Promise<RigsRegistry> {
  return readJsonFile(townPaths(townRoot).rigsJson, RigsRegistrySchema, { hint: RIGS_HINT });
}

/** Add (or replace) one registry entry under the rigs.json lock. */
export async function registerRig(
  townRoot: string,
  name: string,
  entry: RigEntry,
  options: { refuseExisting?: boolean } = {},
): Promise<void> {
  await updateJsonFile(
    townPaths(townRoot).rigsJson,
    RigsRegistrySchema,
    (registry) => {
      if (options.refuseExisting === true && registry.rigs[name] !== undefined)
        throw new GtError('GT_RIG_EXISTS', `rig "${name}" was registered by another process`, {
          hint: 'pick another rig name',
        });
      return { ...registry, rigs: { ...registry.rigs, [name]: entry } };
    },
    { hint: RIGS_HINT },
  );
}

export async function unregisterRig(townRoot: string, name: string): Promise<void> {
  await updateJsonFile(
    townPaths(townRoot).rigsJson,
    RigsRegistrySchema,
    (registry) => {
      const rigs = { ...registry.rigs };
      delete rigs[name];
      return { ...registry, rigs };
    },
    { hint: RIGS_HINT },
  );
}
