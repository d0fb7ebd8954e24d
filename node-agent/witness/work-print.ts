/**
 * What the Witness patrol compares between looks at a polecat: fingerprints of its clone's git
 * state, of its work (git + state.json), of its pane, and a cheap stamp of the clone's files that
 * says whether git needs to run at all (patrol.ts explains the costs).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../proto/index.js';
import { runGit, statusPorcelain } from '../git.js';
import { townTmux } from '../sessions/index.js';
import type { AgentState } from '../town/index.js';
import type { Worker } from './notices.js';

export const hash = (s: string): string =>
  createHash('sha256').update(s).digest('hex').slice(0, 16);

/**
 * The clone's git state (HEAD + work tree) as one fingerprint, or why git could not tell (an
 * unknown answer is not "no change").
 */
export async function gitPrint(
  home: string,
  signal?: AbortSignal,
): Promise<string | { unknown: string }> {
  if (!existsSync(join(home, '.git'))) return hash('');
  const head = await runGit(['rev-parse', 'HEAD'], {
    cwd: home,
    signal,
    timeoutMs: 10_000,
  }).catch(() => '');
  const status = await statusPorcelain(home, { signal, timeoutMs: 10_000 }).catch(
    (err: unknown) => ({ unknown: errorMessage(err) }),
  );
  if (!Array.isArray(status)) return status;
  return hash(`${head}\n${status.join('\n')}`);
}

export const workPrint = (git: string, state: AgentState): string =>
  hash(`${git}\n${state.last_activity ?? ''}\n${state.state}`);

/** Work trees with more directories than this are not stamped: git runs every patrol. */
const STAMP_MAX_DIRS = 2_000;

/**
 * What `git rev-parse HEAD` and `git status` of a clone depend on, read cheaply: the mtimes of
 * its HEAD, index, HEAD reflog, packed refs and branch ref, and of every work-tree directory (a
 * file created, deleted or renamed into place, which is how most tools save). A file rewritten
 * in place changes none of these: the pane's activity, and the fresh look before every nudge,
 * cover that. undefined (git runs) for a clone that cannot be stamped.
 */
export function cloneStamp(home: string): string | undefined {
  const gitDir = join(home, '.git');
  const mtime = (p: string): string =>
    String(statSync(p, { bigint: true, throwIfNoEntry: false })?.mtimeNs ?? '-');
  try {
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    const ref = head.startsWith('ref: ') ? join(gitDir, head.slice(5)) : undefined;
    const parts = [
      head,
      ...['HEAD', 'index', join('logs', 'HEAD'), 'packed-refs'].map((f) => mtime(join(gitDir, f))),
      ref === undefined ? '' : mtime(ref),
    ];
    const dirs = [home];
    for (let i = 0; i < dirs.length; i++) {
      if (dirs.length > STAMP_MAX_DIRS) return undefined;
      const dir = dirs[i] as string;
      parts.push(mtime(dir));
      for (const e of readdirSync(dir, { withFileTypes: true }))
        if (e.isDirectory() && !(dir === home && e.name === '.git')) dirs.push(join(dir, e.name));
    }
    return hash(parts.join('\n'));
  } catch {
    return undefined;
  }
}

export async function paneText(w: Worker, signal?: AbortSignal): Promise<string> {
  return townTmux(w.townRoot)
    .capturePane(w.session, { signal, timeoutMs: 5_000 })
    .catch(() => '');
}

export const panePrint = async (w: Worker, signal?: AbortSignal): Promise<string> =>
  hash(await paneText(w, signal));
