/**
 * `gt swarm start` and `gt swarm cancel`: the Mayor's dispatch. Start validates the issues,
 * mails the rig's plan-oracle (when that plugin exists) before dispatch, spawns one polecat per
 * issue (up to --max), and writes the decision down.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GtError, errorMessage } from '../../proto/index.js';
import { openBeads, readyIssues } from '../beads/index.js';
import {
  mergeQueueDir,
  releaseClaim,
  readAgentState,
  requireRig,
  spawnPolecat,
  stamped,
  townTmux,
  updateAgentState,
} from '../sessions/index.js';
import { rigPaths } from '../town/index.js';
import { mailPluginHook } from '../witness/index.js';
import {
  newSwarmId,
  readSwarm,
  updateSwarm,
  writeSwarm,
  type SwarmIssue,
  type SwarmRecord,
} from './swarm-record.js';

export interface SwarmStartOptions {
  townRoot: string;
  rig: string;
  issues?: string[];
  /** Take this many ready issues (open, unassigned, unblocked) when no issues are named. */
  ready?: number;
  max?: number;
  agent?: string;
  signal?: AbortSignal;
  /** Write the swarm down without spawning (the coordinator places the polecats). */
  recordOnly?: boolean;
}

/** DESIGN §8: validate before dispatch — every named issue exists, is open and unclaimed. */
function assertAssignable(beadsDir: string, ids: string[]): void {
  const store = openBeads(beadsDir);
  try {
    const problems = ids.flatMap((id) => {
      const issue = store.getIssue(id);
      if (issue === undefined) return [`${id} does not exist`];
      const holder = typeof issue.assignee === 'string' ? issue.assignee : '';
      if (holder !== '') return [`${id} is claimed by ${holder}`];
      return issue.status === 'open' ? [] : [`${id} is ${issue.status}`];
    });
    if (problems.length > 0)
      throw new GtError('GT_CLAIMED', `cannot dispatch the swarm: ${problems.join('; ')}`, {
        hint: 'name open, unassigned issues (see `bd ready`), or use --ready <n>',
      });
  } finally {
    store.close();
  }
}

function pickIssues(beadsDir: string, o: SwarmStartOptions): string[] {
  if (o.issues !== undefined && o.issues.length > 0) {
    const ids = [...new Set(o.issues)];
    assertAssignable(beadsDir, ids);
    return ids;
  }
  const want = o.ready ?? 0;
  if (want <= 0)
    throw new GtError('GT_USAGE', 'say which work: --issues <id,…> or --ready <n>', {
      hint: 'see what is ready with `bd ready`',
    });
  const store = openBeads(beadsDir);
  try {
    return readyIssues(store)
      .filter((i) => i.status === 'open' && (typeof i.assignee !== 'string' || i.assignee === ''))
      .slice(0, want)
      .map((i) => i.id);
  } finally {
    store.close();
  }
}

export async function startSwarm(o: SwarmStartOptions): Promise<SwarmRecord> {
  await requireRig(o.townRoot, o.rig);
  const paths = rigPaths(o.townRoot, o.rig);
  const picked = pickIssues(paths.beadsDir, o);
  if (picked.length === 0)
    throw new GtError('GT_NOT_FOUND', `no ready issues in ${o.rig}`, {
      hint: 'create work with `bd create`, or name issues with --issues',
    });
  const issues = o.max !== undefined && o.max > 0 ? picked.slice(0, o.max) : picked;
  const id = newSwarmId(o.townRoot, o.rig);
  await mailPluginHook(o.townRoot, o.rig, 'plan-oracle', {
    id: `mayor-plan-${id}`,
    from: 'mayor',
    subject: `Plan for swarm ${id}`,
    body: `The Mayor is about to dispatch swarm ${id} on ${o.rig}: ${issues.join(', ')}. Reply with a breakdown or concerns.`,
  });
  const record: SwarmRecord = {
    version: 1,
    id,
    rig: o.rig,
    ...(o.agent === undefined || o.agent === '' ? {} : { agent: o.agent }),
    state: 'active',
    created_at: new Date().toISOString(),
    issues: issues.map((issue) => ({ issue })),
  };
  await writeSwarm(o.townRoot, record);
  if (o.recordOnly === true) return record;
  for (const [i, issue] of issues.entries()) record.issues[i] = await dispatchOne(o, issue);
  await writeSwarm(o.townRoot, record);
  return record;
}

async function dispatchOne(o: SwarmStartOptions, issue: string): Promise<SwarmIssue> {
  try {
    const r = await spawnPolecat({
      townRoot: o.townRoot,
      rig: o.rig,
      issue,
      agent: o.agent === '' ? undefined : o.agent,
      signal: o.signal,
    });
    return {
      issue,
      polecat: r.polecat,
      address: r.address,
      epoch: r.epoch,
      branch: r.branch,
      session: r.session,
    };
  } catch (err) {
    return { issue, error: errorMessage(err) };
  }
}

/**
 * Stop the swarm's sessions (only the epochs it spawned) and give the claims back — except for
 * issues whose work is already queued for the refinery.
 */
export async function cancelSwarm(townRoot: string, id: string): Promise<SwarmRecord> {
  const record = await readSwarm(townRoot, id);
  if (record.state !== 'active')
    throw new GtError('GT_CONFLICT', `swarm ${id} is already ${record.state}`, {
      hint: 'only an active swarm can be cancelled; see `gt swarm list`',
    });
  const paths = rigPaths(townRoot, record.rig);
  const tmux = townTmux(townRoot);
  for (const it of record.issues) {
    if (it.polecat === undefined || it.epoch === undefined) continue;
    const home = join(paths.polecatsDir, it.polecat);
    if (!existsSync(home)) continue;
    const state = await readAgentState(home, 'polecat');
    if (state.epoch !== it.epoch) continue; // the polecat has moved on to other work
    if (it.session !== undefined) await tmux.killSession(it.session);
    await updateAgentState(home, 'polecat', (s) => {
      if (s.epoch !== it.epoch) return s;
      const { session: _s, issue: _i, ...rest } = s;
      return stamped({ ...rest, state: 'idle' });
    });
    // Finished work already in the merge queue keeps its claim: the refinery closes it.
    if (!existsSync(join(mergeQueueDir(townRoot, record.rig), `${it.issue}.json`)))
      releaseClaim(paths.beadsDir, it.issue, it.address ?? '');
  }
  return updateSwarm(townRoot, id, (r) => ({
    ...r,
    state: 'cancelled',
    finished_at: new Date().toISOString(),
  }));
}
