/**
 * Claims held by polecats: the `orphaned-claims` doctor check (an issue in_progress assigned to a
 * polecat that is not working on it, e.g. after a spawn killed mid-clone) and the one way a claim
 * is given back (status open, assignee cleared), shared by doctor, agent-crash and `gt release`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAddress, readJsonFile } from '../../proto/index.js';
import { listIssues, openBeads, updateIssue } from '../beads/index.js';
import { mergeQueueDir } from './done.js';
import {
  AgentStateSchema,
  agentHomeFiles,
  listRigs,
  rigPaths,
  tryReadRigConfig,
  type DoctorCheck,
  type DoctorProblem,
} from '../town/index.js';

/** A claim younger than this whose holder has no state yet is a spawn still cloning. */
const DEFAULT_SPAWN_GRACE_MS = 15_000;

/**
 * Give `issue` back to the queue (status open, unassigned) when `holder` still holds it
 * in_progress. Returns whether it did.
 */
export function releaseClaim(beadsDir: string, issue: string, holder: string): boolean {
  if (!existsSync(beadsDir)) return false;
  const store = openBeads(beadsDir, holder);
  try {
    const current = store.getIssue(issue);
    if (current === undefined || current.assignee !== holder || current.status !== 'in_progress')
      return false;
    updateIssue(store, issue, { status: 'open', assignee: '' });
    return true;
  } finally {
    store.close();
  }
}

export interface OrphanedClaim {
  rig: string;
  issue: string;
  holder: string;
  /** Why the holder is not working on it ("has no state", "is idle", …). */
  why: string;
}

/** The polecat name of `assignee` when it is a polecat of `rig`. */
function polecatOf(assignee: string, rig: string): string | undefined {
  try {
    const a = parseAddress(assignee);
    return a.role === 'polecat' && a.rig === rig && a.machine === undefined ? a.name : undefined;
  } catch {
    return undefined; // a human or free-form assignee
  }
}

/** Why the polecat at `home` does not hold `issue` in a way anyone will finish, or undefined. */
async function orphanReason(
  home: string,
  issue: string,
  claimedAt: number,
  graceMs: number,
): Promise<string | undefined> {
  const file = agentHomeFiles(home).state;
  if (!existsSync(file)) {
    if (Date.now() - claimedAt < graceMs) return undefined; // a spawn still making its clone
    return existsSync(home)
      ? 'has no state (a spawn that did not finish)'
      : 'does not exist (no polecat home here, and no other machine runs it on that issue)';
  }
  const state = await readJsonFile(file, AgentStateSchema).catch(() => undefined);
  if (state === undefined) return undefined; // a broken state.json: polecat-homes reports it
  if (state.issue !== issue)
    return state.issue === undefined
      ? `is ${state.state} and holds no issue`
      : `is ${state.state} on ${state.issue}`;
  if (state.state === 'idle') return 'is idle';
  return undefined; // working, stuck, done (in the merge queue) or stopped (held: gt release)
}

/**
 * Issues in_progress assigned to a polecat of a present rig that is not working on them and
 * that have no merge-queue entry (a polecat is idle after `gt done` while its work waits there).
 */
export async function orphanedClaims(
  townRoot: string,
  elsewhere: ReadonlySet<string> = new Set(),
): Promise<OrphanedClaim[]> {
  const out: OrphanedClaim[] = [];
  for (const rig of (await listRigs(townRoot)).filter((r) => r.present)) {
    const paths = rigPaths(townRoot, rig.name);
    if (!existsSync(paths.beadsDir)) continue;
    const config = await tryReadRigConfig(paths.configJson);
    const graceMs = config?.witness?.crash_grace_ms ?? DEFAULT_SPAWN_GRACE_MS;
    const store = openBeads(paths.beadsDir);
    const claimed = (() => {
      try {
        return listIssues(store, { status: 'in_progress' });
      } finally {
        store.close();
      }
    })();
    for (const issue of claimed) {
      const name = polecatOf(issue.assignee ?? '', rig.name);
      if (name === undefined) continue;
      // Submitted work (any queue state): the refinery merges it or the witness sends it back.
      if (existsSync(join(mergeQueueDir(townRoot, rig.name), `${issue.id}.json`))) continue;
      const home = join(paths.polecatsDir, name);
      // Placed on another machine and holding its issue there: that machine's doctor checks it.
      if (!existsSync(home) && elsewhere.has(`${rig.name}/${name}`)) continue;
      const why = await orphanReason(home, issue.id, Date.parse(issue.updated_at), graceMs);
      if (why !== undefined)
        out.push({ rig: rig.name, issue: issue.id, holder: `${rig.name}/${name}`, why });
    }
  }
  return out;
}

export const ORPHANED_CLAIMS_CHECK: DoctorCheck = {
  id: 'orphaned-claims',
  scope: 'swarm',
  title: 'every claimed issue is held by a polecat working on it',
  async run({ townRoot, polecatsElsewhere }) {
    return (await orphanedClaims(townRoot, polecatsElsewhere)).map((c): DoctorProblem => ({
      status: 'error',
      message: `orphaned claim: ${c.issue} is in_progress, assigned to ${c.holder}, which ${c.why}`,
      hint: `\`gt doctor --fix\` gives it back (status open, unassigned); then \`gt spawn ${c.rig} --issue ${c.issue}\``,
      repair: () =>
        Promise.resolve(
          releaseClaim(rigPaths(townRoot, c.rig).beadsDir, c.issue, c.holder)
            ? `gave ${c.issue} back (open, unassigned): ${c.holder} was not working on it`
            : `${c.issue} was no longer claimed by ${c.holder}`,
        ),
    }));
  },
};
