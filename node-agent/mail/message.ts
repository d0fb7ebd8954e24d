/**
 * One mail message: a line of `<home>/mail/inbox.jsonl`. The record is plain JSON so that
 * `cat inbox.jsonl` is readable, and `.loose()` so fields written by a newer Gas Town (or by hand)
 * survive every rewrite of the inbox.
 */
import { z } from 'zod';
import { MAIL_ID_RANDOM_CHARS, newMailId, parseAddress } from '../../proto/index.js';

export const MAIL_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type MailPriority = (typeof MAIL_PRIORITIES)[number];

/** The types Gas Town itself sends. The schema accepts any other non-empty word too. */
export const MAIL_TYPES = [
  'task',
  'handoff',
  'escalation',
  'nudge',
  'done',
  'lifecycle',
  'notice',
  'reply',
] as const;
export type KnownMailType = (typeof MAIL_TYPES)[number];

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export const MailMessageSchema = z
  .object({
    id: z.string().min(1),
    from: z.string().min(1),
    to: z.string().min(1),
    subject: z.string(),
    body: z.string(),
    created_at: z.string().regex(RFC3339, 'must be an RFC 3339 timestamp'),
    read: z.boolean().default(false),
    read_at: z.string().regex(RFC3339, 'must be an RFC 3339 timestamp').optional(),
    thread_id: z.string().min(1).optional(),
    reply_to: z.string().min(1).optional(),
    priority: z.enum(MAIL_PRIORITIES).default('normal'),
    type: z.string().min(1).default('notice'),
    /** Spawn epoch of the worker this message is about/from (DESIGN.md §8: stale signals). */
    epoch: z.number().int().nonnegative().optional(),
  })
  .loose();

/** A parsed message (extra fields kept as unknown properties). */
export type MailMessage = z.output<typeof MailMessageSchema>;

/** What a sender provides; id and created_at are filled in by newMailMessage when missing. */
export interface NewMail {
  id?: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  created_at?: string;
  thread_id?: string;
  reply_to?: string;
  priority?: MailPriority;
  type?: KnownMailType | (string & {});
  epoch?: number;
  [extra: string]: unknown;
}

const ID_RANDOM_CHARS = MAIL_ID_RANDOM_CHARS;
export { newMailId };

/** The short form shown in listings: the first 8 characters of the random tail. */
export function shortMailId(id: string): string {
  return id.length > ID_RANDOM_CHARS + 8 ? id.slice(id.length - ID_RANDOM_CHARS, -2) : id;
}

/** Build a complete message record from what a sender gave (validated). */
export function newMailMessage(input: NewMail, now: Date = new Date()): MailMessage {
  return MailMessageSchema.parse({
    ...input,
    id: input.id ?? newMailId(now.getTime()),
    created_at: input.created_at ?? now.toISOString(),
    read: false,
  });
}

export interface ReplyOptions {
  from: string;
  body: string;
  subject?: string;
  priority?: MailPriority;
}

/** A reply to `original`: back to its sender, in its thread, `Re:` subject. */
export function replyMessage(original: MailMessage, options: ReplyOptions): MailMessage {
  const subject =
    options.subject ??
    (/^re:/i.test(original.subject) ? original.subject : `Re: ${original.subject}`);
  return newMailMessage({
    from: options.from,
    to: original.from,
    subject,
    body: options.body,
    thread_id: original.thread_id ?? original.id,
    reply_to: original.id,
    priority: options.priority ?? 'normal',
    type: 'reply',
  });
}

function toPlugin(message: MailMessage): boolean {
  try {
    return parseAddress(message.to).role === 'plugin';
  } catch {
    return false;
  }
}

/**
 * Whether a delivered message also types a notice into the recipient's live session: high and
 * urgent mail for every agent; every message for a plugin, whose inbox is its work queue (the hook
 * points' `task` mails, `gt send` requests): a running plugin agent waits at its prompt for work.
 */
export function wantsSessionNotice(message: MailMessage): boolean {
  return message.priority === 'high' || message.priority === 'urgent' || toPlugin(message);
}

/**
 * The one-line notice typed into a live session for a high/urgent message: control characters
 * (newlines, ESC) removed so it is a single literal line, subject cut at 120 characters.
 */
export function sessionNoticeText(message: MailMessage): string {
  // eslint-disable-next-line no-control-regex
  const subject = message.subject.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  const cut = [...subject].length > 120 ? `${[...subject].slice(0, 119).join('')}…` : subject;
  return `[gt mail] ${message.priority} ${message.type} from ${message.from}: ${cut} (gt mail read ${shortMailId(message.id)})`;
}
