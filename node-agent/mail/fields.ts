/**
 * A message's fields beyond the wire's own (issue, head, branch, conflict_files …): they cross
 * machines as one JSON object (`extra_json` of MailMessage and SendMailRequest), so mail carried
 * through the coordinator arrives with every field its sender wrote, not only subject and body.
 */
import type { MessageInitShape, SendMailRequestSchema } from '../../proto/index.js';
import type { NewMail } from './message.js';

/** The record fields the wire carries in fields of their own. */
const WIRE_FIELDS = new Set([
  'id',
  'from',
  'to',
  'subject',
  'body',
  'created_at',
  'read',
  'read_at',
  'thread_id',
  'reply_to',
  'priority',
  'type',
  'epoch',
]);

/** The fields of `mail` the wire has no field for, as a JSON object ('' when none). */
export function extraJson(mail: Record<string, unknown>): string {
  const extra = Object.fromEntries(
    Object.entries(mail).filter(([k, v]) => !WIRE_FIELDS.has(k) && v !== undefined),
  );
  return Object.keys(extra).length === 0 ? '' : JSON.stringify(extra);
}

/**
 * The fields of an `extra_json` to add to a record: only a JSON object's, and never one the wire
 * carries itself (those come from their own fields). Anything unreadable adds nothing.
 */
export function extraFields(json: string): Record<string, unknown> {
  if (json === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  return Object.fromEntries(Object.entries(parsed).filter(([k]) => !WIRE_FIELDS.has(k)));
}

/** A message written here, as the SendMail request that carries all of it to another machine. */
export function sendRequestOf(
  mail: NewMail & { id: string },
): MessageInitShape<typeof SendMailRequestSchema> {
  return {
    id: mail.id,
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    body: mail.body,
    priority: mail.priority ?? 'normal',
    type: mail.type ?? 'notice',
    threadId: mail.thread_id ?? '',
    replyTo: mail.reply_to ?? '',
    epoch: BigInt(mail.epoch ?? 0),
    createdAt: mail.created_at ?? '',
    extraJson: extraJson(mail),
  };
}
