/**
 * The Refinery's mail: to the polecat and the witness about an entry's outcome, and to the
 * plugins at the seed's two refinery hook points (before merge processing → merge-oracle, on PR
 * ready → review-oracle). Mail ids are derived from (rig, entry, submission, kind, recipient), so
 * a refinery that is killed and redoes a step re-sends the same id and the inbox keeps one copy.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Mailbox, awayMailOf, type NewMail } from '../mail/index.js';
import { typeMailNotice } from '../sessions/index.js';
import { rigPaths } from '../town/index.js';
import { overlapGroups } from './overlap.js';
import type { QueueEntry } from './queue.js';

export type OutcomeKind = 'merged' | 'rejected' | 'conflict' | 'review' | 'merge-plan';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Same shape as proto's newMailId (9 chars of time, 10 of "random"), but deterministic. */
export function refineryMailId(entry: QueueEntry, kind: OutcomeKind, to: string): string {
  const ms = Date.parse(entry.submitted_at);
  const time = (Number.isNaN(ms) ? 0 : ms).toString(36).padStart(9, '0');
  const digest = createHash('sha256')
    .update([entry.rig, entry.id, entry.submitted_at, kind, to].join('\0'))
    .digest();
  let tail = '';
  for (const byte of digest.subarray(0, 10)) tail += ALPHABET[byte % ALPHABET.length];
  return `${time}${tail}`;
}

function polecatHome(townRoot: string, entry: QueueEntry): string {
  return join(rigPaths(townRoot, entry.rig).polecatsDir, entry.polecat);
}

function base(entry: QueueEntry, kind: OutcomeKind, to: string): NewMail {
  return {
    id: refineryMailId(entry, kind, to),
    from: `${entry.rig}/refinery`,
    to,
    subject: '',
    body: '',
    priority: 'normal',
    epoch: entry.epoch,
    issue: entry.issue,
    branch: entry.branch,
    head: entry.head,
  };
}

export async function mailMerged(
  townRoot: string,
  entry: QueueEntry,
  commit: string,
): Promise<void> {
  const text = `${entry.issue} (${entry.branch} at ${entry.head.slice(0, 12)}) is merged to main as ${commit.slice(0, 12)}; the issue is closed.`;
  const witness = `${entry.rig}/witness`;
  await deliver(townRoot, polecatHome(townRoot, entry), {
    ...base(entry, 'merged', entry.address),
    subject: `Merged: ${entry.issue}`,
    body: text,
    type: 'notice',
    merged_commit: commit,
  });
  await deliver(townRoot, rigPaths(townRoot, entry.rig).witnessHome, {
    ...base(entry, 'merged', witness),
    subject: `Merged: ${entry.issue} (${entry.address})`,
    body: text,
    type: 'notice',
    merged_commit: commit,
  });
}

/** `why`: the gate's verdict ("test gate failed (exit 1): <cmd>", "test gate timed out after …"). */
export async function mailRejected(
  townRoot: string,
  entry: QueueEntry,
  why: string,
  tail: string,
): Promise<void> {
  await deliver(townRoot, polecatHome(townRoot, entry), {
    ...base(entry, 'rejected', entry.address),
    subject: `Rejected: ${entry.issue} failed the test gate`,
    body: [
      `The refinery merged ${entry.branch} (${entry.head.slice(0, 12)}) onto main and ran the rig's test command: ${why}.`,
      `The issue is yours again (in_progress). Fix it on your branch, push, and run \`gt done\`.`,
      '',
      'Output (tail):',
      tail,
    ].join('\n'),
    type: 'task',
    priority: 'high',
  });
}

export async function mailMissingHead(townRoot: string, entry: QueueEntry): Promise<void> {
  await deliver(townRoot, polecatHome(townRoot, entry), {
    ...base(entry, 'rejected', entry.address),
    subject: `Rejected: ${entry.issue}: submitted commit not on origin`,
    body: [
      `The refinery cannot find ${entry.head} (the head \`gt done\` recorded for ${entry.branch}) on origin:`,
      'the branch was probably rewritten after `gt done`. Push your branch and run `gt done` again.',
    ].join('\n'),
    type: 'task',
    priority: 'high',
  });
}

export async function mailConflict(
  townRoot: string,
  entry: QueueEntry,
  files: string[],
): Promise<void> {
  await deliver(townRoot, polecatHome(townRoot, entry), {
    ...base(entry, 'conflict', entry.address),
    subject: `Rebase required: ${entry.issue} conflicts with main`,
    body: [
      `${entry.branch} (${entry.head.slice(0, 12)}) does not merge cleanly onto main. Conflicting files:`,
      ...files.map((f) => `  ${f}`),
      '',
      `Run \`git fetch origin && git rebase origin/main\`, resolve, push (--force-with-lease), then \`gt done\`.`,
    ].join('\n'),
    type: 'task',
    priority: 'high',
    conflict_files: files,
  });
}

/** `<rig>/plugins/<name>/` exists → the plugin exists (seed: no registration). */
export function pluginHome(townRoot: string, rig: string, name: string): string | undefined {
  const home = join(rigPaths(townRoot, rig).pluginsDir, name);
  return existsSync(home) ? home : undefined;
}

/**
 * Append to an inbox; a recipient whose session is running also gets a notice typed into it when
 * the mail wants one (high priority, or any mail to a plugin) — best effort: the mail is in the
 * inbox either way. A home removed since the entry was submitted gets nothing (no ghost homes).
 */
async function deliver(townRoot: string, home: string, mail: NewMail): Promise<void> {
  if (!existsSync(home)) {
    // Not here: a polecat on another machine (sent through the coordinator), when this machine
    // can send there; otherwise a home removed since the entry was submitted gets nothing.
    const away = awayMailOf(townRoot);
    if (away !== undefined && mail.id !== undefined) await away({ ...mail, id: mail.id });
    return;
  }
  const { delivered, message } = await new Mailbox({ home }).append(mail);
  if (delivered) await typeMailNotice(townRoot, message).catch(() => false);
}

/** On PR ready: review-oracle gets one mail per entry. */
export async function mailReviewOracle(
  townRoot: string,
  entry: QueueEntry,
  home: string,
  files: string[],
): Promise<void> {
  await deliver(townRoot, home, {
    ...base(entry, 'review', `${entry.rig}/plugins/review-oracle`),
    subject: `Review: ${entry.issue} (${entry.branch})`,
    body: [
      `${entry.address} submitted ${entry.branch} at ${entry.head} for ${entry.issue}.`,
      `Changed files:`,
      ...files.map((f) => `  ${f}`),
    ].join('\n'),
    type: 'task',
  });
}

/** Before merge processing: merge-oracle gets the pending changesets (once per new entry). */
export async function mailMergeOracle(
  townRoot: string,
  rig: string,
  home: string,
  fresh: QueueEntry,
  pending: Array<{ entry: QueueEntry; files: string[] }>,
): Promise<void> {
  const lines = pending.map(
    ({ entry, files }) =>
      `${entry.id} p${entry.priority} ${entry.branch} ${entry.head.slice(0, 12)} [${entry.state}]: ${files.join(', ')}`,
  );
  const groups = overlapGroups(pending.map(({ entry, files }) => ({ id: entry.id, files })));
  lines.push(
    '',
    'Overlap groups (disjoint groups could be tested together; a group is a sequential chain):',
  );
  for (const g of groups)
    lines.push(
      `  group ${g.group}: ${g.entries.join(' → ')}${g.shared.length === 0 ? '' : ` (shared: ${g.shared.join(', ')})`}`,
    );
  await deliver(townRoot, home, {
    ...base(fresh, 'merge-plan', `${rig}/plugins/merge-oracle`),
    subject: `Analyze merge queue (${pending.length} pending)`,
    body: ['Pending changesets (id priority branch head [state]: files):', ...lines].join('\n'),
    type: 'task',
  });
}
