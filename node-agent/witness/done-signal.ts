/**
 * The Witness's half of the seed's Worker Cleanup diagram: a `done` mail arrives, the Witness
 * captures the clone's git state; dirty or unpushed → nudge the polecat back (never kill it);
 * clean → kill the session and mark the polecat idle. A done mail whose epoch is not the
 * polecat's current one is stale (DESIGN.md §8) and only marked read.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, parseAddress } from '../../proto/index.js';
import { statusPorcelain, unpushedCommits } from '../git.js';
import { Mailbox, type MailMessage } from '../mail/index.js';
import { readAgentState, stamped, townTmux, updateAgentState } from '../sessions/index.js';
import { rigPaths } from '../town/index.js';
import { nudgeWorker, type Worker } from './notices.js';

export type PatrolActionKind =
  | 'nudged'
  | 'escalated'
  | 'crash'
  | 'blocked'
  | 'done-dirty'
  | 'cleaned-up'
  | 'stale-done'
  | 'rework'
  | 'waiting'
  | 'answered'
  | 'stale-rework'
  | 'progress'
  | 'unchecked'
  | 'stuck-swarm'
  | 'plugin-hook'
  | 'swarm-complete';

export interface PatrolAction {
  address: string;
  kind: PatrolActionKind;
  detail: string;
}

/** Git state of a clone: lines of what would be lost if the session were killed now. */
export async function cloneGitState(home: string): Promise<string[]> {
  if (!existsSync(join(home, '.git'))) return [];
  const [dirty, unpushed] = await Promise.all([statusPorcelain(home), unpushedCommits(home)]);
  return [
    ...dirty.map((l) => `uncommitted: ${l.trim()}`),
    ...unpushed.map((l) => `unpushed: ${l}`),
  ];
}

function polecatOf(townRoot: string, mail: MailMessage): Worker | undefined {
  try {
    const a = parseAddress(mail.from);
    if (a.role !== 'polecat' || a.rig === undefined) return undefined;
    return {
      townRoot,
      rig: a.rig,
      name: a.name,
      address: `${a.rig}/${a.name}`,
      home: join(rigPaths(townRoot, a.rig).polecatsDir, a.name),
      session: '',
      epoch: mail.epoch ?? 0,
      issue: typeof mail.issue === 'string' ? mail.issue : undefined,
    };
  } catch {
    return undefined;
  }
}

async function handleDone(townRoot: string, mail: MailMessage): Promise<PatrolAction> {
  const w = polecatOf(townRoot, mail);
  if (w === undefined || !existsSync(w.home))
    return {
      address: mail.from,
      kind: 'stale-done',
      detail: `done mail from unknown ${mail.from}`,
    };
  const state = await readAgentState(w.home, 'polecat');
  if (state.epoch !== w.epoch || state.session === undefined)
    return {
      address: w.address,
      kind: 'stale-done',
      detail: `ignored done of epoch ${w.epoch}: ${w.address} is epoch ${state.epoch ?? '?'} (${state.state})`,
    };
  const worker: Worker = { ...w, session: state.session, issue: state.issue ?? w.issue };
  const lost = await cloneGitState(w.home).catch((err: unknown) => [
    `git state unknown: ${errorMessage(err)}`,
  ]);
  if (lost.length > 0) {
    const list = lost.slice(0, 8).join('; ');
    await nudgeWorker(
      worker,
      `dirty-${mail.id}`,
      `your done for ${worker.issue ?? 'your issue'} is not clean (${list}). Commit or discard, push, then run gt done again.`,
    );
    // Only a polecat still done in this epoch goes back to work (not one cleaned up meanwhile).
    await updateAgentState(w.home, 'polecat', (s) =>
      s.epoch === w.epoch && s.state === 'done' && s.session !== undefined
        ? stamped({ ...s, state: 'working' })
        : s,
    );
    return { address: w.address, kind: 'done-dirty', detail: list };
  }
  const killed = await townTmux(townRoot).killSession(worker.session);
  await updateAgentState(w.home, 'polecat', (s) => {
    if (s.epoch !== w.epoch) return s;
    const { session: _s, issue: _i, ...rest } = s;
    return stamped({ ...rest, state: 'idle' });
  });
  return {
    address: w.address,
    kind: 'cleaned-up',
    detail: `clean: ${killed ? 'session killed' : 'session already gone'}, polecat idle`,
  };
}

/** Handle every unread `done` mail in the rig Witness's inbox, then mark each read. */
export async function processDoneSignals(townRoot: string, rig: string): Promise<PatrolAction[]> {
  const inbox = new Mailbox({ home: rigPaths(townRoot, rig).witnessHome });
  const done = (await inbox.list({ unread: true })).filter((m) => m.type === 'done');
  const actions: PatrolAction[] = [];
  for (const mail of done) {
    actions.push(await handleDone(townRoot, mail));
    await inbox.markRead([mail.id]);
  }
  return actions;
}
