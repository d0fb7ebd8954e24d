/** The mail part of the NodeAgent service: deliver, list, read, mark read on this machine. */
import {
  GtError,
  type MailMessage as WireMail,
  type MessageInitShape,
  type MailMessageSchema,
} from '../proto/index.js';
import { requireHome } from './agent-homes.js';
import type { Log } from './log.js';
import { Mailbox, extraFields, extraJson, type MailMessage, type NewMail } from './mail/index.js';
import { typeMailNotice } from './sessions/index.js';

export interface MailServiceOptions {
  townRoot: string;
  log: Log;
}

const optional = (v: string): string | undefined => (v === '' ? undefined : v);

export function toWire(m: MailMessage): MessageInitShape<typeof MailMessageSchema> {
  return {
    id: m.id,
    from: m.from,
    to: m.to,
    subject: m.subject,
    body: m.body,
    createdAt: m.created_at,
    read: m.read,
    readAt: m.read_at ?? '',
    threadId: m.thread_id ?? '',
    replyTo: m.reply_to ?? '',
    priority: m.priority,
    type: m.type,
    epoch: BigInt(m.epoch ?? 0),
    extraJson: extraJson(m),
  };
}

function fromWire(m: WireMail): NewMail {
  const mail: NewMail = {
    ...extraFields(m.extraJson),
    from: m.from,
    to: m.to,
    subject: m.subject,
    body: m.body,
  };
  if (m.id !== '') mail.id = m.id;
  if (m.createdAt !== '') mail.created_at = m.createdAt;
  if (optional(m.threadId) !== undefined) mail.thread_id = m.threadId;
  if (optional(m.replyTo) !== undefined) mail.reply_to = m.replyTo;
  if (m.priority !== '') mail.priority = m.priority as NonNullable<NewMail['priority']>;
  if (m.type !== '') mail.type = m.type;
  if (m.epoch > 0n) mail.epoch = Number(m.epoch);
  return mail;
}

export function createMailService(options: MailServiceOptions) {
  const { townRoot, log } = options;
  const mailboxOf = async (address: string) => {
    const { home } = await requireHome(townRoot, address);
    return new Mailbox({
      home,
      onWarning: (w, path) =>
        log.warn({ path, line: w.line, problem: w.problem }, 'skipped a bad inbox line'),
    });
  };

  /**
   * High-priority mail, and any mail to a plugin, also types a one-line notice into the
   * recipient's live session (wantsSessionNotice).
   */
  async function sessionNotice(mail: MailMessage, signal: AbortSignal): Promise<void> {
    try {
      await typeMailNotice(townRoot, mail, { signal });
    } catch (err) {
      log.warn({ err, to: mail.to }, 'could not type a mail notice into the session');
    }
  }

  return {
    async deliver(
      message: WireMail,
      signal: AbortSignal,
    ): Promise<{ id: string; duplicate: boolean }> {
      if (message.to === '')
        throw new GtError('GT_INVALID_ARGUMENT', 'mail has no recipient', {
          hint: 'give an address: gt send <address> -s ... -m ...',
        });
      const box = await mailboxOf(message.to);
      const result = await box.append(fromWire(message), { signal });
      log.info(
        { id: result.message.id, to: message.to, duplicate: !result.delivered },
        'mail delivered',
      );
      if (result.delivered) await sessionNotice(result.message, signal);
      return { id: result.message.id, duplicate: !result.delivered };
    },
    async list(address: string, unreadOnly: boolean) {
      const scan = await (await mailboxOf(address)).scan();
      const messages = unreadOnly ? scan.messages.filter((m) => !m.read) : scan.messages;
      return {
        messages: messages.map(toWire),
        warnings: scan.warnings.map((w) => `inbox line ${w.line}: ${w.problem}`),
      };
    },
    async read(address: string, id: string, peek: boolean, signal: AbortSignal) {
      const box = await mailboxOf(address);
      const message = await box.get(id);
      if (!peek && !message.read) {
        await box.markRead([message.id], { signal });
        return toWire((await box.get(message.id)) ?? message);
      }
      return toWire(message);
    },
    async markRead(address: string, ids: string[], all: boolean, signal: AbortSignal) {
      const box = await mailboxOf(address);
      if (!all && ids.length === 0)
        throw new GtError('GT_USAGE', 'nothing to mark read', {
          hint: 'give message ids, or --all',
        });
      const full = all ? 'all' : await Promise.all(ids.map(async (id) => (await box.get(id)).id));
      return { marked: (await box.markRead(full, { signal })).length };
    },
  };
}
