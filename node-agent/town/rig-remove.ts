/**
 * Removing a rig deletes every clone in it, so it first looks for work that exists nowhere else
 * (uncommitted changes, commits no remote has, stashes, the rig's beads issues) and refuses unless
 * forced.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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

/** Work in a clone that exists nowhere else, one short phrase per kind. */
export async function unsavedWork(clone: string, signal?: AbortSignal): Promise<string[]> {
  const problems: string[] = [];
  try {
    if (!(await isRepoRoot(clone, { signal }))) return ['.git is present but broken'];
    const dirty = await statusPorcelain(clone, { signal });
    if (dirty.length > 0) problems.push(`${dirty.length} uncommitted change(s)`);
    const unpushed = await unpushedCommits(clone, { signal });
    if (unpushed.length > 0) problems.push(`${unpushed.length} unpushed commit(s)`);
    const stashes = await stashCount(clone, { signal });
    if (stashes > 0) problems.push(`${stashes} stash entr(ies)`);
  } catch (err) {
    problems.push(`could not inspect it (${errorMessage(err)})`);
  }
  return problems;
}

/** Issues in the rig's .beads/issues.jsonl (the rig's tracker lives nowhere else by default). */
function beadsIssueCount(beadsDir: string): number {
  const jsonl = join(beadsDir, 'issues.jsonl');
  if (!existsSync(jsonl)) return 0;
  return readFileSync(jsonl, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0).length;
}

/** Everything removing the rig would destroy, as `<path relative to town>: <what>` lines. */
async function workAtRisk(townRoot: string, rig: string, signal?: AbortSignal): Promise<string[]> {
  const lines: string[] = [];
  for (const clone of rigClones(townRoot, rig))
    for (const what of await unsavedWork(clone, signal))
      lines.push(`${relative(townRoot, clone)}: ${what}`);
  const beadsDir = rigPaths(townRoot, rig).beadsDir;
  const issues = beadsIssueCount(beadsDir);
  if (issues > 0)
    lines.push(`${relative(townRoot, beadsDir)}: ${issues} beads issue(s) in the rig's tracker`);
  return lines;
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
  const work = isRigDir ? await workAtRisk(townRoot, options.name, options.signal) : [];
  if (work.length > 0 && options.force !== true)
    throw new GtError(
      'GT_DIRTY',
      `rig "${options.name}" holds work that exists nowhere else:\n  ${work.join('\n  ')}`,
      {
        hint: 'commit and push it (or ask its polecat to), then retry; `gt rig remove --force` deletes it anyway',
        details: { work },
      },
    );
  if (registered) await unregisterRig(townRoot, options.name);
  if (isRigDir) rmSync(paths.root, { recursive: true, force: true });
  return {
    name: options.name,
    path: paths.root,
    unregistered: registered,
    deleted: isRigDir,
    discarded: options.force === true ? work : [],
  };
}
