/**
 * Rigs: containers (never git clones) holding config.json, .beads/, and one home per agent, each
 * with its own clone. `addRig` is all-or-nothing: any failure midway removes everything it made.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  GtError,
  assertName,
  isGtError,
  errorMessage,
  readJsonFile,
  writeJsonAtomic,
} from '../../proto/index.js';
import { cloneRepo, currentBranch, normalizeGitUrl, setRemoteUrl } from '../git.js';
import { townSshCommand } from '../git-identity.js';
import { rigPaths, writeAgentHome } from './layout.js';
import {
  BEADS_PREFIX_RE,
  RigConfigSchema,
  derivePrefix,
  type RigConfig,
  type RigEntry,
} from './schemas.js';
import { loadTown, readRigsRegistry, registerRig, unregisterRig } from './town.js';

export interface AddRigOptions {
  townRoot: string;
  name: string;
  /** Local path (made absolute against `cwd`), file:// URL, ssh or https URL. */
  gitUrl: string;
  /** Beads issue prefix; default derived from the name ("wyvern" → "wyv"). */
  prefix?: string | undefined;
  /** Directory a relative local path is resolved against; default process.cwd(). */
  cwd?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Per git call (the clone); default 10 minutes for clones. */
  timeoutMs?: number | undefined;
}

export interface RigSummary {
  name: string;
  git_url: string;
  prefix: string | undefined;
  path: string;
  default_branch: string | undefined;
  machine: string | undefined;
  polecats: number;
  added_at: string;
  /** False when the rig is registered but its directory is missing. */
  present: boolean;
  /** Set for a satellite: the machine homing the rig (only its polecats run here). */
  home_machine: string | undefined;
  /** The rig config's Witness settings (satellites take them from the home). */
  witness: RigConfig['witness'];
}

function checkPrefix(prefix: string): void {
  if (!BEADS_PREFIX_RE.test(prefix))
    throw new GtError('GT_INVALID_ARGUMENT', `invalid beads prefix "${prefix}"`, {
      hint: 'use 1–8 lowercase letters or digits starting with a letter, e.g. --prefix wyv',
    });
}

async function refuseExistingRig(townRoot: string, name: string): Promise<void> {
  const registry = await readRigsRegistry(townRoot);
  const path = rigPaths(townRoot, name).root;
  if (registry.rigs[name] !== undefined)
    throw new GtError('GT_RIG_EXISTS', `rig "${name}" is already registered in this town`, {
      hint: `pick another name, or remove it first with \`gt rig remove ${name}\``,
    });
  if (existsSync(path))
    throw new GtError('GT_RIG_EXISTS', `${path} already exists`, {
      hint: `pick another rig name, or move ${path} away (if it is a rig missing from the registry, \`gt doctor --fix\` re-registers it)`,
    });
}

function claimRigDir(path: string, name: string): void {
  try {
    mkdirSync(path); // not recursive: claims the name against a concurrent add
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new GtError('GT_RIG_EXISTS', `${path} was just created by another process`, {
      hint: `another \`gt rig add ${name}\` is running; pick another name or wait for it`,
    });
  }
}

interface RigBuild {
  townRoot: string;
  town: string;
  name: string;
  gitUrl: string;
  prefix: string;
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  /** Updated as the build goes, for the error message. */
  step: string;
}

/** Clones, config.json, .beads/ and homes inside an already claimed rig directory. */
async function buildRig(b: RigBuild): Promise<RigConfig> {
  const paths = rigPaths(b.townRoot, b.name);
  const call = { signal: b.signal, timeoutMs: b.timeoutMs };
  b.step = `cloning ${b.gitUrl} into refinery/rig`;
  mkdirSync(paths.refineryHome);
  const sshCommand = townSshCommand(b.townRoot);
  await cloneRepo({ url: b.gitUrl, dest: paths.refineryClone, sshCommand, ...call });
  const defaultBranch = await currentBranch(paths.refineryClone, call);
  b.step = 'cloning refinery/rig into mayor/rig';
  mkdirSync(paths.mayorHome);
  await cloneRepo({
    url: paths.refineryClone,
    dest: paths.mayorClone,
    local: true,
    sshCommand,
    ...call,
  });
  await setRemoteUrl(paths.mayorClone, 'origin', b.gitUrl, call);
  b.step = 'writing config.json, .beads/ and the agent homes';
  const config: RigConfig = {
    type: 'rig',
    version: 1,
    name: b.name,
    git_url: b.gitUrl,
    ...(defaultBranch === undefined ? {} : { default_branch: defaultBranch }),
    beads: { prefix: b.prefix },
  };
  await writeJsonAtomic(paths.configJson, config);
  // Loaded on use: the beads store pulls in SQLite, which `gt status` must not pay for.
  const { initBeads } = await import('../beads/index.js');
  initBeads({ beadsDir: paths.beadsDir, prefix: b.prefix });
  await writeRigHomes({ townRoot: b.townRoot, town: b.town, rig: b.name, prefix: b.prefix });
  return config;
}

/**
 * Create a rig from a git repository and register it in rigs.json. All or nothing: on any
 * failure (or abort) the rig directory is removed and the registry left as it was.
 */
export async function addRig(options: AddRigOptions): Promise<RigSummary> {
  assertName('rig', options.name);
  const prefix = options.prefix ?? derivePrefix(options.name);
  checkPrefix(prefix);
  const town = await loadTown(options.townRoot);
  await refuseExistingRig(town.root, options.name);
  const gitUrl = normalizeGitUrl(options.gitUrl, options.cwd ?? process.cwd());
  const paths = rigPaths(town.root, options.name);
  claimRigDir(paths.root, options.name);
  const build: RigBuild = {
    townRoot: town.root,
    town: town.config.name,
    name: options.name,
    gitUrl,
    prefix,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    step: 'creating the rig layout',
  };
  let registered = false;
  try {
    const config = await buildRig(build);
    build.step = 'registering the rig in config/rigs.json';
    options.signal?.throwIfAborted();
    const entry: RigEntry = { git_url: gitUrl, added_at: new Date().toISOString(), prefix };
    await registerRig(town.root, options.name, entry, { refuseExisting: true });
    registered = true;
    return summarize(town.root, options.name, entry, config);
  } catch (err) {
    if (registered) await unregisterRig(town.root, options.name).catch(() => undefined);
    rmSync(paths.root, { recursive: true, force: true });
    throw rigAddFailure(options.name, build.step, err);
  }
}

export interface RigHomeFacts {
  townRoot: string;
  town: string;
  rig: string;
  prefix: string;
}

/** Create (where missing) the witness, refinery and mayor homes and polecats/, plugins/. */
export async function writeRigHomes(facts: RigHomeFacts): Promise<string[]> {
  const paths = rigPaths(facts.townRoot, facts.rig);
  const templateFacts = { town: facts.town, rig: facts.rig, prefix: facts.prefix };
  const created: string[] = [];
  const homes = [
    [paths.refineryHome, 'refinery'],
    [paths.witnessHome, 'witness'],
    [paths.mayorHome, 'rig-mayor'],
  ] as const;
  for (const [home, template] of homes)
    created.push(...(await writeAgentHome({ home, template, facts: templateFacts })));
  for (const dir of [paths.polecatsDir, paths.pluginsDir]) {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      created.push(dir);
    }
  }
  return created;
}

function rigAddFailure(name: string, step: string, err: unknown): GtError {
  if (err instanceof Error && err.name === 'AbortError')
    return new GtError(
      'GT_CANCELLED',
      `gt rig add ${name} was cancelled while ${step}; nothing was left behind`,
      { cause: err },
    );
  const what = `gt rig add ${name} failed while ${step}; nothing was left behind`;
  if (isGtError(err))
    return new GtError(err.code, `${what}: ${err.message}`, {
      hint: err.hint,
      cause: err,
      details: err.details,
    });
  return new GtError('GT_INTERNAL', `${what}: ${errorMessage(err)}`, { cause: err });
}

function countDirs(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).length;
}

function summarize(
  townRoot: string,
  name: string,
  entry: RigEntry,
  config: RigConfig | undefined,
): RigSummary {
  const paths = rigPaths(townRoot, name);
  return {
    name,
    git_url: entry.git_url,
    prefix: entry.prefix ?? config?.beads.prefix,
    path: paths.root,
    default_branch: config?.default_branch,
    machine: entry.machine,
    polecats: countDirs(paths.polecatsDir),
    added_at: entry.added_at,
    present: existsSync(paths.root),
    home_machine: entry.home_machine,
    witness: config?.witness,
  };
}

/** Read a rig's config.json, or undefined when it is missing or invalid (doctor reports why). */
export async function tryReadRigConfig(path: string): Promise<RigConfig | undefined> {
  try {
    return await readJsonFile(path, RigConfigSchema);
  } catch {
    return undefined;
  }
}

/**
 * The town's rigs homed here, sorted by name; with `satellites`, also the rigs homed on other
 * machines whose polecats run here (they have `home_machine` set).
 */
export async function listRigs(
  townRoot: string,
  options: { satellites?: boolean } = {},
): Promise<RigSummary[]> {
  const root = resolve(townRoot);
  const registry = await readRigsRegistry(root);
  const names = Object.keys(registry.rigs)
    .filter((n) => options.satellites === true || registry.rigs[n]?.home_machine === undefined)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const entry = registry.rigs[name] as RigEntry;
      const config = await tryReadRigConfig(rigPaths(root, name).configJson);
      return summarize(root, name, entry, config);
    }),
  );
}
