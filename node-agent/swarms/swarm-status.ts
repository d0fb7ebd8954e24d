/**
 * What a swarm is doing, read fresh: per issue the polecat (if it still works for this swarm's
 * epoch), its session, the beads status and the refinery queue's merge state. An issue is
 * settled when it is closed or merged, escalated, or was never dispatched; when every issue is
 * settled the Mayor gets one "swarm complete" mail. A swarm with no progress for the stuck
 * timeout is escalated once (the seed's "stuck swarm" row).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from '../../proto/index.js';
import { openBeads } from '../beads/index.js';
import { Mailbox } from '../mail/index.js';
import { entryState } from '../refinery/index.js';
import { liveSessions, readAgentState } from '../sessions/index.js';
import { rigPaths, townPaths } from '../town/index.js';
import {
  escalateToMayor,
  escalationMailId,
  WORKER_ESCALATION_CAUSES,
  readPatrolRecord,
  witnessThresholds,
  type PatrolAction,
} from '../witness/index.js';
import { listSwarms, readSwarm, swarmFile, writeSwarm, type SwarmRecord } from './swarm-record.js';

export interface SwarmIssueView {
  issue: string;
  polecat: string;
  address: string;
  epoch: number;
  /** The polecat's state while it works for this swarm; `released` once it moved on. */
  polecatState: string;
  sessionAlive: boolean;
  beadsStatus: string;
  /** The refinery queue's state of the issue's entry (queued … merged); '' = never submitted. */
  mergeState: string;
  escalated: boolean;
  settled: boolean;
  error: string;
  /** The machine running the worker when it is not the rig's home ('' here). */
  machine: string;
}

export interface SwarmView {
  record: SwarmRecord;
  issues: SwarmIssueView[];
  settled: number;
}

async function mayorMailIds(townRoot: string): Promise<Set<string>> {
  const inbox = new Mailbox({ home: townPaths(townRoot).mayorHome });
  return new Set((await inbox.list().catch(() => [])).map((m) => m.id));
}

export async function viewSwarm(townRoot: string, record: SwarmRecord): Promise<SwarmView> {
  const paths = rigPaths(townRoot, record.rig);
  const live = await liveSessions(townRoot);
  const mayor = await mayorMailIds(townRoot);
  const store = existsSync(paths.beadsDir) ? openBeads(paths.beadsDir) : undefined;
  try {
    const issues: SwarmIssueView[] = [];
    for (const it of record.issues) {
      // A worker on another machine: its state is there (the coordinator's status asks it).
      const home =
        it.polecat === undefined || it.machine !== undefined
          ? undefined
          : join(paths.polecatsDir, it.polecat);
      const state =
        home === undefined
          ? undefined
          : await readAgentState(home, 'polecat').catch(() => undefined);
      const mine = state !== undefined && state.epoch === it.epoch;
      const subject = `${it.polecat ?? ''}-e${it.epoch ?? 0}`;
      const escalated = WORKER_ESCALATION_CAUSES.some((c) =>
        mayor.has(escalationMailId(record.rig, subject, c)),
      );
      const beadsStatus = store?.getIssue(it.issue)?.status ?? 'missing';
      const mergeState = entryState(townRoot, record.rig, it.issue);
      const error = it.error ?? '';
      issues.push({
        issue: it.issue,
        polecat: it.polecat ?? '',
        address: it.address ?? '',
        epoch: it.epoch ?? 0,
        polecatState: mine
          ? state.state
          : it.polecat === undefined || it.machine !== undefined
            ? ''
            : 'released',
        sessionAlive: mine && state.session !== undefined && live.has(state.session),
        beadsStatus,
        mergeState,
        escalated,
        settled: beadsStatus === 'closed' || mergeState === 'merged' || escalated || error !== '',
        error,
        machine: it.machine ?? '',
      });
    }
    return { record, issues, settled: issues.filter((i) => i.settled).length };
  } finally {
    store?.close();
  }
}

function summaryOf(v: SwarmView): string {
  const line = (i: SwarmIssueView): string =>
    `- ${i.issue}: ${i.error !== '' ? `not dispatched (${i.error})` : i.escalated ? `escalated (${i.address})` : `${i.beadsStatus}${i.mergeState === '' ? '' : `, merge ${i.mergeState}`} (${i.address})`}`;
  return [
    `Swarm ${v.record.id} on ${v.record.rig} is complete: ${v.issues.length} issue(s).`,
    ...v.issues.map(line),
  ].join('\n');
}

/**
 * Record a swarm's completion the moment its last issue settles: when every issue is settled the
 * Mayor gets its one "swarm complete" mail and the swarm is marked `complete`. Called by whoever
 * settles an issue (the Refinery right after a merge, the patrol after an escalation) and by
 * every patrol as a backstop. The check, the mail and the write happen under the swarm file's
 * lock, so two settlers at once send one mail and write once; the mail's fixed id keeps it single
 * even if a settler dies between the mail and the write. `view` is the swarm's fresh view while
 * it is still active (undefined once it is complete or cancelled).
 */
export async function settleSwarm(
  townRoot: string,
  id: string,
  now = new Date(),
): Promise<{ completed: boolean; view: SwarmView | undefined }> {
  return withFileLock(swarmFile(townRoot, id), async () => {
    const swarm = await readSwarm(townRoot, id);
    if (swarm.state !== 'active') return { completed: false, view: undefined };
    const view = await viewSwarm(townRoot, swarm);
    if (view.settled < view.issues.length) return { completed: false, view };
    await new Mailbox({ home: townPaths(townRoot).mayorHome }).append({
      id: `witness-swarm-complete-${swarm.id}`,
      from: `${swarm.rig}/witness`,
      to: 'mayor',
      subject: `Swarm complete: ${swarm.id}`,
      body: summaryOf(view),
      type: 'notice',
      priority: 'normal',
    });
    await writeSwarm(townRoot, { ...swarm, state: 'complete', finished_at: now.toISOString() });
    return { completed: true, view };
  });
}

/** Settle every active swarm of `rig` that holds `issue` (the Refinery merged it); ids completed. */
export async function settleSwarmsOf(
  townRoot: string,
  rig: string,
  issue: string,
  now = new Date(),
): Promise<string[]> {
  const completed: string[] = [];
  for (const swarm of await listSwarms(townRoot, rig)) {
    if (swarm.state !== 'active' || !swarm.issues.some((i) => i.issue === issue)) continue;
    if ((await settleSwarm(townRoot, swarm.id, now)).completed) completed.push(swarm.id);
  }
  return completed;
}

/** The patrol's swarm duties for a rig: complete settled swarms, escalate stuck ones. */
export async function checkSwarms(
  townRoot: string,
  rig: string,
  now = new Date(),
): Promise<PatrolAction[]> {
  const actions: PatrolAction[] = [];
  const t = await witnessThresholds(townRoot, rig);
  const record = await readPatrolRecord(townRoot, rig);
  for (const swarm of (await listSwarms(townRoot, rig)).filter((s) => s.state === 'active')) {
    const { completed, view } = await settleSwarm(townRoot, swarm.id, now);
    if (completed) {
      actions.push({ address: 'mayor', kind: 'swarm-complete', detail: swarm.id });
      continue;
    }
    if (view === undefined) continue; // completed or cancelled meanwhile by someone else
    const progress = swarm.issues
      .map((i) =>
        record.workers[i.address ?? '']?.epoch === i.epoch
          ? record.workers[i.address ?? '']?.last_progress_at
          : undefined,
      )
      .filter((x): x is string => x !== undefined);
    const last = Math.max(Date.parse(swarm.created_at), ...progress.map((x) => Date.parse(x)));
    if (now.getTime() - last < t.stuckTimeoutMs) continue;
    const first = await escalateToMayor({
      townRoot,
      rig,
      subject: swarm.id,
      cause: 'stuck-swarm',
      title: `swarm ${swarm.id} on ${rig} is stuck`,
      body: `No progress in swarm ${swarm.id} since ${new Date(last).toISOString()} (threshold ${Math.round(t.stuckTimeoutMs / 60_000)} min); ${view.settled}/${view.issues.length} issues settled. See \`gt swarm status ${swarm.id}\`.`,
    });
    actions.push({
      address: 'mayor',
      kind: 'stuck-swarm',
      detail: `${swarm.id}${first ? ': escalated' : ': already escalated'}`,
    });
  }
  return actions;
}
