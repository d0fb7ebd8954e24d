/**
 * Rig checks: the rig root is a container (not a clone), config.json is valid, .beads/ exists, the
 * refinery and mayor clones are healthy and on the default branch; then the home checks
 * (doctor-homes.ts). Repairs only create what is missing; anything that might hold work (a broken
 * clone, a .git at the rig root) is left for a human.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, readJsonFile, writeJsonAtomic } from '../../proto/index.js';
import {
  cloneRepo,
  currentBranch,
  getRemoteUrl,
  isRepoRoot,
  runGit,
  setRemoteUrl,
  statusPorcelain,
} from '../git.js';
import { townSshCommand } from '../git-identity.js';
import { HOME_CHECKS } from './doctor-homes.js';
import { rigFacts, type RigFacts } from './doctor-rig-facts.js';
import type { DoctorCheck, DoctorProblem } from './doctor-types.js';
import { rigPaths } from './layout.js';
import { RigConfigSchema, type RigConfig } from './schemas.js';

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
  homeOnly: true,
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
        repair: async () => {
          const { initBeads } = await import('../beads/index.js');
          initBeads({ beadsDir, prefix: f.prefix });
          return `initialised ${beadsDir} with prefix "${f.prefix}"`;
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
  homeOnly: true,
  title: 'refinery/rig is a healthy clone on the default branch',
  async run(ctx) {
    const f = await rigFacts(ctx);
    const clone = rigPaths(ctx.townRoot, f.rig).refineryClone;
    const url = f.gitUrl;
    const make =
      url === undefined
        ? undefined
        : () =>
            cloneRepo({
              url,
              dest: clone,
              sshCommand: townSshCommand(ctx.townRoot),
              signal: ctx.signal,
            });
    const problems = await cloneProblems({ clone, label: 'refinery', make }, f);
    if (problems.some((p) => p.status === 'error')) return problems;
    const dirty = await statusPorcelain(clone, { signal: ctx.signal });
    if (dirty.length > 0)
      problems.push({
        status: 'warning',
        message: `refinery clone ${clone} has ${dirty.length} uncommitted change(s); the authoritative main clone should be clean`,
        hint: `look at \`git -C ${clone} status\`: commit what belongs on main, or ask the Refinery to clean up`,
      });
    return problems;
  },
};

const mayorClone: DoctorCheck = {
  id: 'mayor-clone',
  scope: 'rig',
  homeOnly: true,
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
              await cloneRepo({
                url: paths.refineryClone,
                dest: paths.mayorClone,
                local: true,
                sshCommand: townSshCommand(ctx.townRoot),
              });
              await setRemoteUrl(paths.mayorClone, 'origin', url);
            } else
              await cloneRepo({
                url,
                dest: paths.mayorClone,
                sshCommand: townSshCommand(ctx.townRoot),
                signal: ctx.signal,
              });
          };
    return cloneProblems({ clone: paths.mayorClone, label: 'mayor', make }, f);
  },
};

export const RIG_CHECKS: readonly DoctorCheck[] = [
  rootNotClone,
  rigConfig,
  beadsPresent,
  refineryClone,
  mayorClone,
  ...HOME_CHECKS,
];
