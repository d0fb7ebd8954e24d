/**
 * Rig checks: the rig root is a container (not a clone), config.json is valid, .beads/ exists, the
 * refinery and mayor clones are healthy and on the default branch, and every agent home has its
 * CLAUDE.md, mailbox and state. Repairs only create what is missing; anything that might hold
 * work (a broken clone, a .git at the rig root, a bad state.json) is left for a human.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, readJsonFile, writeJsonAtomic } from '../../proto/index.js';
import { initBeads } from '../beads/index.js';
import {
  cloneRepo,
  currentBranch,
  getRemoteUrl,
  isRepoRoot,
  runGit,
  setRemoteUrl,
} from '../git.js';
import type { DoctorCheck, DoctorContext, DoctorProblem } from './doctor-types.js';
import { agentHomeFiles, rigPaths, townPaths, writeAgentHome } from './layout.js';
import {
  AgentStateSchema,
  RigConfigSchema,
  TownConfigSchema,
  derivePrefix,
  type RigConfig,
  type RigEntry,
} from './schemas.js';
import type { TemplateFacts, TemplateRole } from './templates.js';
import { readRigsRegistry } from './town.js';

interface RigFacts {
  rig: string;
  townRoot: string;
  town: string;
  config: RigConfig | undefined;
  entry: RigEntry | undefined;
  gitUrl: string | undefined;
  prefix: string;
}

async function rigFacts(ctx: DoctorContext): Promise<RigFacts> {
  const rig = ctx.rig ?? '';
  const paths = rigPaths(ctx.townRoot, rig);
  const config = await readJsonFile(paths.configJson, RigConfigSchema).catch(() => undefined);
  const registry = await readRigsRegistry(ctx.townRoot).catch(() => undefined);
  const entry = registry?.rigs[rig];
  const town = await readJsonFile(townPaths(ctx.townRoot).townJson, TownConfigSchema).catch(
    () => undefined,
  );
  return {
    rig,
    townRoot: ctx.townRoot,
    town: town?.name ?? 'town',
    config,
    entry,
    gitUrl: config?.git_url ?? entry?.git_url,
    prefix: config?.beads.prefix ?? entry?.prefix ?? derivePrefix(rig),
  };
}

/** Missing CLAUDE.md / mailbox / state (repairable) and a broken state.json (not) of one home. */
export async function agentFileProblems(
  home: string,
  template: TemplateRole,
  facts: TemplateFacts,
): Promise<DoctorProblem[]> {
  const files = agentHomeFiles(home);
  const recreate = (only: Array<'claudeMd' | 'inbox' | 'state'>) => async () => {
    const made = await writeAgentHome({ home, template, facts, only });
    return `created ${made.join(', ')}`;
  };
  if (!existsSync(home))
    return [
      {
        status: 'error',
        message: `agent home ${home} is missing`,
        hint: 'run `gt doctor --fix` to recreate it with its CLAUDE.md, empty mailbox and idle state',
        repair: recreate(['claudeMd', 'inbox', 'state']),
      },
    ];
  const problems: DoctorProblem[] = [];
  if (!existsSync(files.inbox))
    problems.push({
      status: 'error',
      message: `mailbox ${files.inbox} is missing (mail to this agent cannot be delivered)`,
      hint: 'run `gt doctor --fix` to recreate an empty mailbox',
      repair: recreate(['inbox']),
    });
  if (!existsSync(files.state))
    problems.push({
      status: 'error',
      message: `state file ${files.state} is missing`,
      hint: 'run `gt doctor --fix` to write an idle state',
      repair: recreate(['state']),
    });
  else {
    const bad = await readJsonFile(files.state, AgentStateSchema).then(
      () => undefined,
      (err: unknown) => errorMessage(err),
    );
    if (bad !== undefined)
      problems.push({
        status: 'warning',
        message: bad,
        hint: `fix the named field, or delete ${files.state} and run \`gt doctor --fix\` to write an idle state`,
      });
  }
  if (!existsSync(files.claudeMd))
    problems.push({
      status: 'warning',
      message: `role prompt ${files.claudeMd} is missing`,
      hint: 'run `gt doctor --fix` to write the role prompt template',
      repair: recreate(['claudeMd']),
    });
  return problems;
}

const rootNotClone: DoctorCheck = {
  id: 'rig-root-not-clone',
  scope: 'rig',
  title: 'the rig root is a container, not a git clone',
  run(ctx) {
    const root = rigPaths(ctx.townRoot, ctx.rig ?? '').root;
    if (!existsSync(join(root, '.git'))) return Promise.resolve([]);
    return Promise.resolve([
      {
        status: 'error',
        message: `${root} is a git clone (it has .git); a rig root must be a plain container`,
        hint: `move ${join(root, '.git')} away by hand (e.g. mv it next to the town after checking it holds nothing you need); gt never deletes it`,
      },
    ]);
  },
};

const rigConfig: DoctorCheck = {
  id: 'rig-config',
  scope: 'rig',
  title: 'config.json is valid',
  async run(ctx) {
    const f = await rigFacts(ctx);
    const file = rigPaths(ctx.townRoot, f.rig).configJson;
    if (!existsSync(file)) {
      const entry = f.entry;
      return [
        {
          status: 'error',
          message: `${file}: file is missing`,
          hint:
            entry === undefined
              ? `recreate it by hand: {"type":"rig","version":1,"name":"${f.rig}","git_url":"…","beads":{"prefix":"${f.prefix}"}}`
              : 'run `gt doctor --fix` to rebuild it from config/rigs.json',
          repair:
            entry === undefined
              ? undefined
              : async () => {
                  const config: RigConfig = {
                    type: 'rig',
                    version: 1,
                    name: f.rig,
                    git_url: entry.git_url,
                    beads: { prefix: f.prefix },
                  };
                  await writeJsonAtomic(file, config);
                  return `rebuilt ${file} from config/rigs.json`;
                },
        },
      ];
    }
    try {
      const config = await readJsonFile(file, RigConfigSchema);
      if (config.name === f.rig) return [];
      return [
        {
          status: 'warning',
          message: `${file}: name: "${config.name}" does not match the rig folder "${f.rig}"`,
          hint: `set "name" to "${f.rig}" in ${file}`,
        },
      ];
    } catch (err) {
      return [
        {
          status: 'error',
          message: errorMessage(err),
          hint: `fix the named field in ${file} by hand`,
        },
      ];
    }
  },
};

const beadsPresent: DoctorCheck = {
  id: 'rig-beads',
  scope: 'rig',
  title: '.beads/ is present',
  async run(ctx) {
    const f = await rigFacts(ctx);
    const beadsDir = rigPaths(ctx.townRoot, f.rig).beadsDir;
    if (existsSync(beadsDir)) return [];
    return [
      {
        status: 'error',
        message: `${beadsDir} is missing (the rig's issue tracker)`,
        hint: `run \`gt doctor --fix\` to initialise it with prefix "${f.prefix}"`,
        repair: () => {
          initBeads({ beadsDir, prefix: f.prefix });
          return Promise.resolve(`initialised ${beadsDir} with prefix "${f.prefix}"`);
        },
      },
    ];
  },
};

function isEmptyDir(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length === 0;
}

async function expectedBranch(f: RigFacts): Promise<string | undefined> {
  if (f.config?.default_branch !== undefined) return f.config.default_branch;
  const clone = rigPaths(f.townRoot, f.rig).refineryClone;
  const head = await runGit(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], {
    cwd: clone,
  }).catch(() => undefined);
  return head?.replace(/^origin\//, '');
}

interface CloneSpec {
  clone: string;
  label: string;
  /** How to make it when missing (undefined: cannot). */
  make: (() => Promise<void>) | undefined;
}

async function cloneProblems(spec: CloneSpec, f: RigFacts): Promise<DoctorProblem[]> {
  const { clone, label } = spec;
  if (!existsSync(clone) || isEmptyDir(clone)) {
    const make = spec.make;
    return [
      {
        status: 'error',
        message: `${label} clone ${clone} is missing`,
        hint:
          make === undefined
            ? 'the rig has no usable git_url: fix config.json first, then run `gt doctor --fix`'
            : 'run `gt doctor --fix` to clone it again',
        repair:
          make === undefined
            ? undefined
            : async () => {
                await make();
                return `cloned ${label} into ${clone}`;
              },
      },
    ];
  }
  if (!(await isRepoRoot(clone)))
    return [
      {
        status: 'error',
        message: `${clone} exists but is not a healthy git clone`,
        hint: `move ${clone} aside by hand (it may hold work; gt never deletes it), then run \`gt doctor --fix\` to clone it again`,
      },
    ];
  const problems: DoctorProblem[] = [];
  const want = await expectedBranch(f);
  const branch = await currentBranch(clone);
  if (want !== undefined && branch !== want)
    problems.push({
      status: 'warning',
      message: `${label} clone ${clone} is on ${branch === undefined ? 'a detached HEAD' : `branch "${branch}"`}, not "${want}"`,
      hint: `commit or stash any work there, then \`git -C ${clone} switch ${want}\``,
    });
  const origin = await getRemoteUrl(clone);
  const gitUrl = f.gitUrl;
  if (gitUrl !== undefined && origin !== gitUrl)
    problems.push({
      status: 'warning',
      message: `${label} clone ${clone} has origin ${origin ?? '(none)'}, expected ${gitUrl}`,
      hint: "run `gt doctor --fix` to point origin at the rig's git_url",
      repair: async () => {
        if (origin === undefined) await runGit(['remote', 'add', 'origin', gitUrl], { cwd: clone });
        else await setRemoteUrl(clone, 'origin', gitUrl);
        return `set origin of ${clone} to ${gitUrl}`;
      },
    });
  return problems;
}

const refineryClone: DoctorCheck = {
  id: 'refinery-clone',
  scope: 'rig',
  title: 'refinery/rig is a healthy clone on the default branch',
  async run(ctx) {
    const f = await rigFacts(ctx);
    const clone = rigPaths(ctx.townRoot, f.rig).refineryClone;
    const url = f.gitUrl;
    const make =
      url === undefined ? undefined : () => cloneRepo({ url, dest: clone, signal: ctx.signal });
    return cloneProblems({ clone, label: 'refinery', make }, f);
  },
};

const mayorClone: DoctorCheck = {
  id: 'mayor-clone',
  scope: 'rig',
  title: 'mayor/rig is a healthy clone on the default branch',
  async run(ctx) {
    const f = await rigFacts(ctx);
    const paths = rigPaths(ctx.townRoot, f.rig);
    const url = f.gitUrl;
    const make =
      url === undefined
        ? undefined
        : async () => {
            if (await isRepoRoot(paths.refineryClone)) {
              await cloneRepo({ url: paths.refineryClone, dest: paths.mayorClone, local: true });
              await setRemoteUrl(paths.mayorClone, 'origin', url);
            } else await cloneRepo({ url, dest: paths.mayorClone, signal: ctx.signal });
          };
    return cloneProblems({ clone: paths.mayorClone, label: 'mayor', make }, f);
  },
};

function namedHomes(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name);
}

const agentHomes: DoctorCheck = {
  id: 'agent-homes',
  scope: 'rig',
  title: 'witness, refinery and mayor homes are present with mailbox and state',
  async run(ctx) {
    const f = await rigFacts(ctx);
    const paths = rigPaths(ctx.townRoot, f.rig);
    const facts = { town: f.town, rig: f.rig, prefix: f.prefix };
    const problems = [
      ...(await agentFileProblems(paths.witnessHome, 'witness', facts)),
      ...(await agentFileProblems(paths.refineryHome, 'refinery', facts)),
      ...(await agentFileProblems(paths.mayorHome, 'rig-mayor', facts)),
    ];
    return problems;
  },
};

const workerHomes: DoctorCheck = {
  id: 'worker-homes',
  scope: 'rig',
  title: 'every polecat and plugin home has its mailbox and state',
  async run(ctx) {
    const f = await rigFacts(ctx);
    const paths = rigPaths(ctx.townRoot, f.rig);
    const facts = { town: f.town, rig: f.rig, prefix: f.prefix };
    const problems: DoctorProblem[] = [];
    for (const dir of [paths.polecatsDir, paths.pluginsDir])
      if (!existsSync(dir))
        problems.push({
          status: 'warning',
          message: `${dir} is missing`,
          hint: 'run `gt doctor --fix` to create the empty folder',
          repair: () => {
            mkdirSync(dir, { recursive: true });
            return Promise.resolve(`created ${dir}`);
          },
        });
    for (const name of namedHomes(paths.polecatsDir))
      problems.push(
        ...(await agentFileProblems(join(paths.polecatsDir, name), 'polecat', { ...facts, name })),
      );
    for (const name of namedHomes(paths.pluginsDir))
      problems.push(
        ...(await agentFileProblems(join(paths.pluginsDir, name), 'plugin', { ...facts, name })),
      );
    return problems;
  },
};

export const RIG_CHECKS: readonly DoctorCheck[] = [
  rootNotClone,
  rigConfig,
  beadsPresent,
  refineryClone,
  mayorClone,
  agentHomes,
  workerHomes,
];
