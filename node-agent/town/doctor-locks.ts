/**
 * Stale lock files. Every read-modify-write of a shared file holds `<file>.lock` (pid@host); a
 * process that crashed while holding one leaves it behind, and the next writer waits for it.
 * withFileLock breaks such locks itself after a while; doctor finds and removes them at once.
 */
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../../proto/index.js';
import type { DoctorCheck, DoctorProblem } from './doctor-types.js';
import { rigsOnDisk } from './doctor-rig-facts.js';
import { agentHomeFiles, rigPaths, townPaths } from './layout.js';
import { rigAgents } from './status.js';

/** A lock from another host is considered abandoned after this long. */
const FOREIGN_LOCK_STALE_MS = 10 * 60_000;

function lockFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.lock'))
    .map((name) => join(dir, name));
}

/** Why the lock is stale, or undefined when its holder may still be alive. */
export function staleLockReason(file: string, now = Date.now()): string | undefined {
  const content = readFileSync(file, 'utf8').trim();
  const age = now - statSync(file).mtimeMs;
  const match = /^(\d+)@(.*)$/.exec(content);
  if (match === null) return age > 5_000 ? `it names no holder ("${content}")` : undefined;
  const [, pidText, host] = match;
  if (host !== hostname())
    return age > FOREIGN_LOCK_STALE_MS
      ? `held by ${content} on another host for ${Math.round(age / 60_000)} minutes`
      : undefined;
  return pidAlive(Number(pidText)) ? undefined : `its holder, process ${pidText}, is not running`;
}

function lockDirs(townRoot: string): string[] {
  const town = townPaths(townRoot);
  const dirs = [town.configDir, town.mayorHome, join(town.mayorHome, 'mail')];
  for (const rig of rigsOnDisk(townRoot)) {
    dirs.push(rigPaths(townRoot, rig).root);
    for (const agent of rigAgents(townRoot, rig))
      dirs.push(agent.home, join(agentHomeFiles(agent.home).inbox, '..'));
  }
  return dirs;
}

export const staleLocks: DoctorCheck = {
  id: 'stale-locks',
  scope: 'workspace',
  title: 'no lock file is held by a dead process',
  run({ townRoot }) {
    const problems: DoctorProblem[] = [];
    for (const file of lockDirs(townRoot).flatMap(lockFilesIn)) {
      const why = staleLockReason(file);
      if (why === undefined) continue;
      problems.push({
        status: 'warning',
        message: `stale lock ${file}: ${why}`,
        hint: 'run `gt doctor --fix` to remove it; writers of that file wait until it is gone',
        repair: () => {
          unlinkSync(file);
          return Promise.resolve(`removed stale lock ${file}`);
        },
      });
    }
    return Promise.resolve(problems);
  },
};
