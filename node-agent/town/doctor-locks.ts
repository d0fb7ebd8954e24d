/**
 * Stale lock files. Every read-modify-write of a shared file holds `<file>.lock` (pid@host); a
 * process that crashed while holding one leaves it behind, and the next writer waits for it.
 * withFileLock breaks such locks itself after a while; doctor finds and removes them at once.
 */
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../../proto/index.js';
import type { DoctorCheck, DoctorProblem } from './doctor-types.js';

/** A lock from another host is considered abandoned after this long. */
const FOREIGN_LOCK_STALE_MS = 10 * 60_000;

/**
 * Every `*.lock` in the town: withFileLock puts one beside any file it guards (config, inboxes,
 * agent state, polecats/.epoch, witness/patrol.json, swarm records, the refinery's lock...).
 * Git clones (a folder with `.git`) are theirs, not ours, and are not entered.
 */
function lockFiles(townRoot: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // vanished or unreadable: other checks report what matters there
    }
    if (depth > 0 && entries.some((e) => e.name === '.git')) return;
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isFile() && e.name.endsWith('.lock')) found.push(path);
      else if (e.isDirectory() && e.name !== 'node_modules' && depth < 6) walk(path, depth + 1);
    }
  };
  walk(townRoot, 0);
  return found.sort();
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

export const staleLocks: DoctorCheck = {
  id: 'stale-locks',
  scope: 'workspace',
  title: 'no lock file is held by a dead process',
  run({ townRoot }) {
    const problems: DoctorProblem[] = [];
    for (const file of lockFiles(townRoot)) {
      let why: string | undefined;
      try {
        why = staleLockReason(file);
      } catch {
        continue; // released meanwhile
      }
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
