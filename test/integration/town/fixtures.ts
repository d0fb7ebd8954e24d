import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeBareRepo } from '../../helpers/git.js';
import { tempDir } from '../../helpers/tmp.js';
import { addRig, installTown, type RigSummary } from '../../../node-agent/index.js';

export interface TownFixture {
  root: string;
  bare: string;
  rig: RigSummary;
}

/** A fresh town (in a temp dir removed after the test). */
export async function makeTown(name = 'testtown'): Promise<string> {
  const root = join(tempDir('gt-town-'), name);
  await installTown({ root });
  return root;
}

/** A town with one rig "wyvern" added from a real bare repo with 3 commits on main. */
export async function makeTownWithRig(): Promise<TownFixture> {
  const root = await makeTown();
  const bare = makeBareRepo(tempDir('gt-origin-'), { extraCommits: 2 });
  const rig = await addRig({ townRoot: root, name: 'wyvern', gitUrl: bare });
  return { root, bare, rig };
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Every file and folder under `dir`, relative, sorted; .git internals are skipped. */
export function tree(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      out.push(`${rel}/`);
      if (entry.name !== '.git') out.push(...tree(join(dir, entry.name), rel));
    } else out.push(rel);
  }
  return out.sort();
}
