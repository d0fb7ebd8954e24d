/**
 * What the Witness sends: nudges (mail + a line typed into the session), escalations to the
 * Mayor, and the on-worker-stuck plugin hook. Every id is deterministic — derived from the
 * worker, its epoch and the cause — so a repeated patrol appends nothing new (Mailbox.append
 * de-duplicates by id): one escalation per worker per cause, one nudge mail per nudge number.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../proto/index.js';
import { Mailbox } from '../mail/index.js';
import { townTmux, typeMailNotice } from '../sessions/index.js';
import { rigPaths, townPaths } from '../town/index.js';

export interface Worker {
  townRoot: string;
  rig: string;
  name: string;
  address: string;
  home: string;
  session: string;
  epoch: number;
  issue: string | undefined;
}

const slug = (s: string): string => s.replace(/[^A-Za-z0-9_-]+/g, '-');

export function nudgeMailId(w: Worker, key: string): string {
  return `witness-nudge-${slug(w.rig)}-${slug(w.name)}-e${w.epoch}-${slug(key)}`;
}

/** Causes the Witness escalates a worker for (one escalation per worker, epoch and cause). */
export const WORKER_ESCALATION_CAUSES = ['stuck', 'crash', 'blocked', 'rework', 'waiting'] as const;

export function escalationMailId(rig: string, subject: string, cause: string): string {
  return `witness-escalation-${slug(rig)}-${slug(subject)}-${slug(cause)}`;
}

/** Mail the polecat a nudge and type a one-line notice into its live session. */
export async function nudgeWorker(
  w: Worker,
  key: string,
  text: string,
  signal?: AbortSignal,
): Promise<{ mailed: boolean; typed: boolean; error?: string }> {
  const { delivered } = await new Mailbox({ home: w.home }).append({
    id: nudgeMailId(w, key),
    from: `${w.rig}/witness`,
    to: w.address,
    subject: `Nudge: ${text.slice(0, 80)}`,
    body: text,
    type: 'nudge',
    priority: 'high',
    epoch: w.epoch,
    ...(w.issue === undefined ? {} : { issue: w.issue }),
  });
  if (!delivered) return { mailed: false, typed: false };
  try {
    await townTmux(w.townRoot).typeText(w.session, `[gt witness] ${text}`, {
      ...(signal === undefined ? {} : { signal }),
    });
    return { mailed: true, typed: true };
  } catch (err) {
    return { mailed: true, typed: false, error: errorMessage(err) };
  }
}

export interface EscalationInput {
  townRoot: string;
  rig: string;
  /** What it is about: a polecat name + epoch, or a swarm id. */
  subject: string;
  cause: string;
  title: string;
  body: string;
  epoch?: number;
}

/** Escalate to the Mayor (town mailbox); true only the first time for this subject+cause. */
export async function escalateToMayor(e: EscalationInput): Promise<boolean> {
  const { delivered } = await new Mailbox({ home: townPaths(e.townRoot).mayorHome }).append({
    id: escalationMailId(e.rig, e.subject, e.cause),
    from: `${e.rig}/witness`,
    to: 'mayor',
    subject: `Escalation: ${e.title}`,
    body: e.body,
    type: 'escalation',
    priority: 'high',
    cause: e.cause,
    ...(e.epoch === undefined ? {} : { epoch: e.epoch }),
  });
  return delivered;
}

/**
 * The seed's hook points: mail `<rig>/plugins/<plugin>` when its directory exists; a plugin whose
 * session is running also gets a notice typed into it (best effort: the mail is in its inbox).
 */
export async function mailPluginHook(
  townRoot: string,
  rig: string,
  plugin: string,
  mail: { id: string; from: string; subject: string; body: string },
): Promise<boolean> {
  const home = join(rigPaths(townRoot, rig).pluginsDir, plugin);
  if (!existsSync(home)) return false;
  const { delivered, message } = await new Mailbox({ home }).append({
    ...mail,
    to: `${rig}/plugins/${plugin}`,
    type: 'task',
    priority: 'normal',
  });
  if (delivered) await typeMailNotice(townRoot, message).catch(() => false);
  return delivered;
}
