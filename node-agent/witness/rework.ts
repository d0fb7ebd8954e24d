/**
 * Rework: the Refinery sent a finished polecat's work back ("Rebase required" on a conflict,
 * "Rejected" when the test gate failed) after the Witness had already cleaned the worker up.
 * The Witness owns the worker's lifecycle, so it wakes the polecat again: the same clone, branch
 * and epoch, a fresh session, and the Refinery's mail as the prompt. A worker sent back more
 * than `maxRework` times for one assignment is escalated to the Mayor instead (cause `rework`).
 *
 * Only an idle, awake polecat (cleaned up, no live session, not put to sleep) is woken; one
 * still at work reads the mail itself (the Refinery's task mail is high priority and typed).
 * A mail of another epoch, or for an issue the polecat no longer holds, is stale: marked read,
 * nothing else.
 */
import { existsSync } from 'node:fs';
import { openBeads } from '../beads/index.js';
import { Mailbox, type MailMessage } from '../mail/index.js';
import {
  placeAgent,
  presetFor,
  readAgentState,
  stamped,
  startAndDeliver,
  townTmux,
  updateAgentState,
} from '../sessions/index.js';
import { rigAgents, rigPaths, type AgentState } from '../town/index.js';
import type { PatrolAction } from './done-signal.js';
import { escalateToMayor } from './notices.js';
import { readPatrolRecord, updatePatrolRecord } from './patrol-record.js';
import type { WitnessThresholds } from './thresholds.js';

/** The issue's holder in beads ('' when unassigned or missing), and whether it is still open. */
function holderOf(beadsDir: string, issue: string): { holder: string; open: boolean } {
  if (!existsSync(beadsDir)) return { holder: '', open: false };
  const store = openBeads(beadsDir);
  try {
    const found = store.getIssue(issue);
    if (found === undefined) return { holder: '', open: false };
    return {
      holder: typeof found.assignee === 'string' ? found.assignee : '',
      open: found.status !== 'closed',
    };
  } finally {
    store.close();
  }
}

export function reworkPrompt(
  mail: MailMessage,
  issue: string,
  branch: string,
  n: number,
  max: number,
): string {
  return [
    `Issue: ${issue}`,
    `Rework ${n}/${max} on branch ${branch}: the refinery sent your work back.`,
    `${mail.subject}`,
    mail.body,
    `When it is fixed: commit, push the branch, then run \`gt done\`. (Mail ${mail.id}; \`gt inbox\` has it.)`,
  ].join('\n');
}

interface Sendback {
  address: string;
  name: string;
  home: string;
  state: AgentState;
  mails: MailMessage[];
}

/** Idle polecats with unread task mail from the rig's Refinery. */
async function sendbacks(townRoot: string, rig: string): Promise<Sendback[]> {
  const found: Sendback[] = [];
  for (const ref of rigAgents(townRoot, rig)) {
    if (ref.role !== 'polecat' || ref.name === undefined) continue;
    const inbox = new Mailbox({ home: ref.home });
    const mails = (await inbox.list({ unread: true }).catch(() => [])).filter(
      (m) => m.from === `${rig}/refinery` && m.type === 'task',
    );
    if (mails.length === 0) continue;
    const state = await readAgentState(ref.home, 'polecat').catch(() => undefined);
    // Asleep (`gt sleep`): not to be given work; the mail waits for `gt wake`.
    if (state?.state !== 'idle' || state.active === false) continue;
    found.push({ address: ref.address, name: ref.name, home: ref.home, state, mails });
  }
  return found;
}

/** Reworks already given to `address` for this epoch (the Witness's memory, patrol.json). */
async function reworksDone(
  townRoot: string,
  rig: string,
  address: string,
  epoch: number,
): Promise<number> {
  const prev = (await readPatrolRecord(townRoot, rig)).reworks?.[address];
  return prev?.epoch === epoch ? prev.count : 0;
}

async function reworkOne(
  townRoot: string,
  rig: string,
  s: Sendback,
  t: WitnessThresholds,
): Promise<PatrolAction> {
  const epoch = s.state.epoch ?? 0;
  const inbox = new Mailbox({ home: s.home });
  const current = s.mails.filter((m) => m.epoch === epoch && typeof m.issue === 'string');
  const latest = current.at(-1);
  await inbox.markRead(s.mails.map((m) => m.id));
  const issue = latest?.issue as string | undefined;
  const { holder, open } =
    issue === undefined
      ? { holder: '', open: false }
      : holderOf(rigPaths(townRoot, rig).beadsDir, issue);
  if (latest === undefined || issue === undefined || holder !== s.address || !open)
    return {
      address: s.address,
      kind: 'stale-rework',
      detail: `ignored refinery mail ${s.mails.map((m) => m.id).join(', ')}: not for ${s.address}'s current assignment`,
    };
  const done = await reworksDone(townRoot, rig, s.address, epoch);
  if (done >= t.maxRework) {
    const first = await escalateToMayor({
      townRoot,
      rig,
      subject: `${s.name}-e${epoch}`,
      cause: 'rework',
      title: `${s.address} was sent back ${done + 1} times on ${issue}`,
      body: `The refinery sent ${issue} back to ${s.address} (epoch ${epoch}) again after ${done} rework(s) (the rig allows ${t.maxRework}): "${latest.subject}". The issue stays assigned to it; its clone ${s.home} is kept.\n\n${latest.body}`,
      epoch,
    });
    return {
      address: s.address,
      kind: 'escalated',
      detail: `rework: ${first ? 'escalated to the Mayor' : 'already escalated'} after ${done} rework(s)`,
    };
  }
  const n = done + 1;
  await updatePatrolRecord(townRoot, rig, (r) => ({
    ...r,
    reworks: { ...r.reworks, [s.address]: { epoch, count: n } },
  }));
  const place = placeAgent(townRoot, s.address);
  const branch = s.state.branch ?? (typeof latest.branch === 'string' ? latest.branch : '?');
  await updateAgentState(s.home, 'polecat', (st) =>
    st.epoch === epoch
      ? stamped({ ...st, state: 'working', issue, session: place.session, branch })
      : st,
  );
  await startAndDeliver(townTmux(townRoot), {
    townRoot,
    place,
    epoch,
    preset: presetFor(townRoot, rig, 'polecat', s.state.agent),
    prompt: reworkPrompt(latest, issue, branch, n, t.maxRework),
  });
  return {
    address: s.address,
    kind: 'rework',
    detail: `rework ${n}/${t.maxRework} on ${issue}: ${latest.subject}`,
  };
}

/** Wake (or escalate) every idle polecat the Refinery sent work back to. */
export async function processSendbacks(
  townRoot: string,
  rig: string,
  t: WitnessThresholds,
): Promise<PatrolAction[]> {
  const actions: PatrolAction[] = [];
  for (const s of await sendbacks(townRoot, rig)) {
    try {
      actions.push(await reworkOne(townRoot, rig, s, t));
    } catch (err) {
      actions.push({
        address: s.address,
        kind: 'unchecked',
        detail: `rework failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  return actions;
}
