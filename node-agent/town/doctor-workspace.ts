/**
 * Workspace checks: config validity, the Mayor's mailbox and state, the rig registry, and stale
 * runtime files under run/.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  errorMessage,
  pidAlive,
  readJsonFile,
  socketAnswers,
  writeJsonAtomic,
} from '../../proto/index.js';
import type { DoctorCheck, DoctorProblem } from './doctor-types.js';
import { DISK_SPACE_CHECK } from './doctor-disk.js';
import { agentFileProblems } from './doctor-homes.js';
import { staleLocks } from './doctor-locks.js';
import { rigsOnDisk } from './doctor-rig-facts.js';
import { rigPaths, townPaths } from './layout.js';
import { FederationFileSchema, RigConfigSchema, TownConfigSchema } from './schemas.js';
import { emptyRegistry, initialFederation, readRigsRegistry, registerRig } from './town.js';

function invalidFile(err: unknown, hint: string): DoctorProblem {
  return { status: 'error', message: errorMessage(err), hint };
}

const townConfig: DoctorCheck = {
  id: 'town-config',
  scope: 'workspace',
  title: 'config/town.json is valid',
  async run({ townRoot }) {
    try {
      await readJsonFile(townPaths(townRoot).townJson, TownConfigSchema);
      return [];
    } catch (err) {
      return [
        invalidFile(
          err,
          'fix the named field by hand; the shape is {"type":"town","version":1,"name":"…","created_at":"<ISO time>"}',
        ),
      ];
    }
  },
};

const rigsConfig: DoctorCheck = {
  id: 'rigs-config',
  scope: 'workspace',
  title: 'config/rigs.json is valid',
  async run({ townRoot }) {
    const file = townPaths(townRoot).rigsJson;
    try {
      await readRigsRegistry(townRoot);
      return [];
    } catch (err) {
      const missing = !existsSync(file);
      return [
        {
          status: 'error',
          message: errorMessage(err),
          hint: missing
            ? 'run `gt doctor --fix` to create an empty registry and re-register the rigs found on disk'
            : 'fix the named field by hand, or run `gt doctor --fix`: it sets the broken file aside (rigs.json.broken-<time>) and rebuilds the registry from the rigs on disk',
          repair: async () => {
            if (missing) {
              await writeJsonAtomic(file, emptyRegistry());
              return `created an empty ${file}`;
            }
            const aside = `${file}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
            renameSync(file, aside);
            await writeJsonAtomic(file, emptyRegistry());
            return `set the broken ${file} aside as ${aside} and started a fresh registry`;
          },
        },
      ];
    }
  },
};

const federationConfig: DoctorCheck = {
  id: 'federation-config',
  scope: 'workspace',
  title: 'config/federation.json is valid',
  async run({ townRoot }) {
    const file = townPaths(townRoot).federationJson;
    if (!existsSync(file))
      return [
        {
          status: 'error',
          message: `${file}: file is missing`,
          hint: 'run `gt doctor --fix` to write one with the local machine',
          repair: async () => {
            await writeJsonAtomic(file, initialFederation());
            return `wrote ${file} with the local machine`;
          },
        },
      ];
    try {
      const fed = await readJsonFile(file, FederationFileSchema);
      if (!Object.values(fed.machines).some((m) => m.type === 'local'))
        return [
          {
            status: 'warning',
            message: `${file}: machines: no machine of type "local"`,
            hint: 'add "local": {"type": "local"} under machines so rigs on this machine can be reached',
          },
        ];
      return [];
    } catch (err) {
      return [
        invalidFile(
          err,
          `fix the named field in ${file} by hand (\`gt machine\` commands rewrite it)`,
        ),
      ];
    }
  },
};

const mayorHome: DoctorCheck = {
  id: 'mayor-home',
  scope: 'workspace',
  title: "the Mayor's home has CLAUDE.md, mail/inbox.jsonl and state.json",
  async run({ townRoot }) {
    const town = await readJsonFile(townPaths(townRoot).townJson, TownConfigSchema).catch(
      () => undefined,
    );
    return agentFileProblems(townPaths(townRoot).mayorHome, 'mayor', {
      town: town?.name ?? 'town',
    });
  },
};

async function unregisteredRigProblem(townRoot: string, name: string): Promise<DoctorProblem> {
  const paths = rigPaths(townRoot, name);
  try {
    const config = await readJsonFile(paths.configJson, RigConfigSchema);
    return {
      status: 'warning',
      message: `rig "${name}" is on disk (${paths.root}) but not registered in config/rigs.json`,
      hint: 'run `gt doctor --fix` to re-register it from its config.json',
      repair: async () => {
        await registerRig(townRoot, name, {
          git_url: config.git_url,
          added_at: new Date().toISOString(),
          prefix: config.beads.prefix,
        });
        return `re-registered rig "${name}" (${config.git_url}) in config/rigs.json`;
      },
    };
  } catch (err) {
    return {
      status: 'error',
      message: `rig "${name}" is on disk but not registered, and its config.json is unusable: ${errorMessage(err)}`,
      hint: `fix ${paths.configJson}, then run \`gt doctor --fix\` to re-register it`,
    };
  }
}

const rigRegistry: DoctorCheck = {
  id: 'rig-registry',
  scope: 'workspace',
  title: 'every registered rig is on disk and every rig on disk is registered',
  async run({ townRoot }) {
    const registry = await readRigsRegistry(townRoot).catch(() => undefined);
    if (registry === undefined)
      return [
        {
          status: 'warning',
          message: 'skipped: config/rigs.json is unreadable (see rigs-config)',
          hint: 'fix config/rigs.json first',
        },
      ];
    const problems: DoctorProblem[] = [];
    for (const [name, entry] of Object.entries(registry.rigs)) {
      if (entry.machine !== undefined && entry.machine !== 'local') continue;
      if (!existsSync(rigPaths(townRoot, name).root))
        problems.push({
          status: 'error',
          message: `rig "${name}" is registered but ${rigPaths(townRoot, name).root} is missing`,
          hint: `restore the directory, or unregister it with \`gt rig remove ${name}\` and add it again with \`gt rig add ${name} ${entry.git_url}\``,
        });
    }
    for (const name of rigsOnDisk(townRoot))
      if (registry.rigs[name] === undefined)
        problems.push(await unregisteredRigProblem(townRoot, name));
    return problems;
  },
};

function readPid(file: string): number | undefined {
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function removal(file: string, why: string): DoctorProblem {
  return {
    status: 'warning',
    message: `stale runtime file ${file}: ${why}`,
    hint: 'run `gt doctor --fix` to remove it (it holds no data)',
    repair: () => {
      unlinkSync(file);
      return Promise.resolve(`removed stale ${file}`);
    },
  };
}

const runtimeFiles: DoctorCheck = {
  id: 'runtime-files',
  scope: 'workspace',
  title: 'run/ holds no stale pid files or sockets',
  async run({ townRoot }) {
    const runDir = townPaths(townRoot).runDir;
    if (!existsSync(runDir))
      return [
        {
          status: 'warning',
          message: `${runDir} (runtime dir for sockets, pid files and logs) is missing`,
          hint: 'run `gt doctor --fix` to create it',
          repair: () => {
            mkdirSync(runDir, { recursive: true, mode: 0o700 });
            return Promise.resolve(`created ${runDir}`);
          },
        },
      ];
    const problems: DoctorProblem[] = [];
    const livePids = new Set<string>();
    const names = readdirSync(runDir);
    for (const name of names.filter((n) => n.endsWith('.pid'))) {
      const file = join(runDir, name);
      const pid = readPid(file);
      if (pid === undefined) problems.push(removal(file, 'it holds no valid pid'));
      else if (!pidAlive(pid)) problems.push(removal(file, `process ${pid} is not running`));
      else livePids.add(name.slice(0, -'.pid'.length));
    }
    // run/tmux.sock is the tmux-server check's (tmux never removes its socket when it exits).
    for (const name of names.filter((n) => n.endsWith('.sock') && n !== 'tmux.sock')) {
      const base = name.slice(0, -'.sock'.length);
      const file = join(runDir, name);
      if (livePids.has(base) || (await socketAnswers(file))) continue;
      problems.push(removal(file, 'no live process owns it and nothing answers on it'));
    }
    return problems;
  },
};

export const WORKSPACE_CHECKS: readonly DoctorCheck[] = [
  // First: on a full disk every repair after it needs the space it frees.
  DISK_SPACE_CHECK,
  townConfig,
  rigsConfig,
  federationConfig,
  mayorHome,
  rigRegistry,
  runtimeFiles,
  staleLocks,
];
