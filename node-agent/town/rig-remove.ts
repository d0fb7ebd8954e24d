/**
 * Removing a rig deletes every clone in it, so it first looks for work that exists nowhere else
 * (uncommitted changes, commits no remote has, stashes) and refuses unless forced.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { GtError, assertName, errorMessage } from '../../proto/index.js';
import { isRepoRoot, stashCount, statusPorcelain, unpushedCommits } from '../git.js';
import { rigPaths } from './layout.js';
import { readRigsRegistry, unregisterRig } from './town.js';

export interface RemoveRigOptions {
  townRoot: string;
  name: string;
  /** Delete even when clones hold uncommitted or unpushed work. */
  force?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface RemovedRig {
  name: string;
  path: string;
  /** It was in rigs.json (and is no longer). */
  unregistered: boolean;
  /** Its directory existed and was deleted. */
  deleted: boolean;
  /** Work that --force threw away (empty unless forced). */
  discarded: string[];
}

function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name));
}

/** Every git clone of a rig: refinery/rig, mayor/rig, polecats/<name>, plugins/<name>/rig. */
export function rigClones(townRoot: string, rig: string): string[] {
  const paths = rigPaths(townRoot, rig);
  return [
    paths.refineryClone,
    paths.mayorClone,
    ...subdirs(paths.polecatsDir),
    ...subdirs(paths.pluginsDir).map((dir) => join(dir, 'rig')),
  ].filter((dir) => existsSync(join(dir, '.git')));
}

/** Human-readable descriptions of work in a clone that exists nowhere else. */
export async function unsavedWork(clone: string, signal?: AbortSignal): Promise<string[]> {
  const problems: string[] = [];
  try {
    if (!(await isRepoRoot(clone, { signal }))) return [`${clone}: .git is present but broken`];
    const dirty = await statusPorcelain(clone, { signal });
    if (dirty.length > 0) problems.push(`${clone}: ${dirty.length} uncommitted change(s)`);
    const unpushed = await unpushedCommits(clone, { signal });
    if (unpushed.length > 0) problems.push(`${clone}: ${unpushed.length} unpushed commit(s)`);
    const stashes = await stashCount(clone, { signal });
    if (stashes > 0) problems.push(`${clone}: ${stashes} stash entr(ies)`);
  } catch (err) {
    problems.push(`${clone}: could not inspect (${errorMessage(err)})`);
  }
  return problems;
}

/** Unregister a rig and delete its directory; refuses to lose work unless forced. */
export async function removeRig(options: RemoveRigOptions): Promise<RemovedRig> {
  assertName('rig', options.name);
  const townRoot = resolve(options.townRoot);
  const paths = rigPaths(townRoot, options.name);
  const registry = await readRigsRegistry(townRoot);
  const registered = registry.rigs[options.name] !== undefined;
  const isRigDir = existsSync(paths.configJson) || (registered && existsSync(paths.root));
  if (!registered && !isRigDir)
    throw new GtError('GT_RIG_NOT_FOUND', `no rig named "${options.name}" in ${townRoot}`, {
      hint: 'list the rigs with `gt rigs`',
    });
  const work: string[] = [];
  for (const clone of isRigDir ? rigClones(townRoot, options.name) : [])
    work.push(...(await unsavedWork(clone, options.signal)));
  const shown = work.map((w) => relative(townRoot, w.split(':')[0] ?? w) + w.slice(w.indexOf(':')));
  if (work.length > 0 && options.force !== true)
    throw new GtError(
      'GT_DIRTY',
      `rig "${options.name}" holds work that exists nowhere else:\n  ${shown.join('\n  ')}`,
      {
        hint: 'commit and push it (or ask its polecat to), then retry; `gt rig remove --force` deletes it anyway',
        details: { work: shown },
      },
    );
  if (registered) await unregisterRig(townRoot, options.name);
  if (isRigDir) rmSync(paths.root, { recursive: true, force: true });
  return {
    name: options.name,
    path: paths.root,
    unregistered: registered,
    deleted: isRigDir,
    discarded: options.force === true ? shown : [],
  };
}
