/** GetGitState: the git state of an agent's clone (branch, head, dirty files, ahead/behind). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GtError, type GitStateSchema, type MessageInitShape } from '../proto/index.js';
import { requireHome } from './agent-homes.js';
import {
  currentBranch,
  isRepoRoot,
  runGit,
  stashCount,
  statusPorcelain,
  unpushedCommits,
} from './git.js';

/** Where an agent does its git work: a polecat's home is its clone; others work in <home>/rig. */
function cloneDirOf(role: string, home: string, address: string): string {
  if (role === 'polecat') return home;
  if (role === 'refinery' || role === 'mayor' || role === 'plugin') return join(home, 'rig');
  throw new GtError(
    'GT_INVALID_ARGUMENT',
    `${address} has no git clone (the ${role} works without one)`,
    {
      hint: 'ask for a polecat, <rig>/refinery, <rig>/mayor or a plugin with a rig/ clone',
    },
  );
}

export async function gitStateOf(
  townRoot: string,
  addressText: string,
  signal?: AbortSignal,
): Promise<MessageInitShape<typeof GitStateSchema>> {
  const { address, home } = await requireHome(townRoot, addressText);
  if (address.role === 'mayor' && address.rig === undefined)
    throw new GtError('GT_INVALID_ARGUMENT', 'the town Mayor has no git clone', {
      hint: 'ask for <rig>/mayor',
    });
  const dir = cloneDirOf(address.role, home, addressText);
  const opts = signal === undefined ? {} : { signal };
  if (!existsSync(dir) || !(await isRepoRoot(dir, opts)))
    throw new GtError('GT_NOT_FOUND', `${addressText}: no git clone at ${dir}`, {
      hint: 'run `gt doctor --fix` to re-clone missing clones',
    });
  const git = (args: string[]) => runGit(args, { cwd: dir, ...opts });
  const [branch, head, dirty, unpushed, stashes] = await Promise.all([
    currentBranch(dir, opts),
    git(['rev-parse', 'HEAD']),
    statusPorcelain(dir, opts),
    unpushedCommits(dir, opts),
    stashCount(dir, opts),
  ]);
  let ahead = 0;
  let behind = 0;
  let hasUpstream = false;
  try {
    const counts = await git(['rev-list', '--left-right', '--count', 'HEAD...@{upstream}']);
    const [a, b] = counts.split(/\s+/).map(Number);
    ahead = a ?? 0;
    behind = b ?? 0;
    hasUpstream = true;
  } catch {
    /* no upstream configured for this branch */
  }
  return {
    path: dir,
    branch: branch ?? '',
    head,
    clean: dirty.length === 0,
    ahead,
    behind,
    dirtyFiles: dirty.map((l) => l.slice(3)),
    hasUpstream,
    unpushedCommits: unpushed,
    stashes,
  };
}
