/** gt send / gt inbox / gt mail read|reply|mark-read. */
import { readFileSync } from 'node:fs';
import {
  ListMailResponseSchema,
  ListOutboxResponseSchema,
  GtError,
  MailMessageSchema,
  SendMailResponseSchema,
  type MailMessage,
} from '../../proto/index.js';
import { color, err, messageJson, oneLine, out, printJson, table } from '../output.js';
import type { CoordinatorClient } from '../session.js';
import { optionsOf, townPathHere, withCoordinator, type CommandOptions } from './context.js';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'];

/** Who is asking: --as, else GT_ADDRESS (set in every agent session), else the role of the cwd. */
async function identity(opts: CommandOptions, client: CoordinatorClient): Promise<string> {
  const as = opts.as as string | undefined;
  if (as !== undefined && as !== '') return as;
  const env = process.env.GT_ADDRESS;
  if (env !== undefined && env !== '') return env;
  return (await client.prime({ townPath: townPathHere(opts) })).address;
}

function messageText(opts: CommandOptions): string {
  const m = opts.message as string | undefined;
  if (m === undefined)
    throw new GtError('GT_USAGE', 'no message given', {
      hint: 'pass -m "text", or -m - to read it from stdin',
    });
  return m === '-' ? readFileSync(0, 'utf8') : m;
}

function checkPriority(p: string | undefined): string {
  if (p === undefined) return 'normal';
  if (!PRIORITIES.includes(p))
    throw new GtError('GT_USAGE', `unknown priority "${p}"`, {
      hint: `use one of: ${PRIORITIES.join(', ')}`,
    });
  return p;
}

export async function send(...args: unknown[]): Promise<void> {
  const [to] = args as [string];
  const opts = optionsOf(args);
  const body = messageText(opts);
  const priority = checkPriority(opts.priority as string | undefined);
  await withCoordinator(opts, async ({ client }) => {
    const from = await identity(opts, client);
    const res = await client.sendMail({
      to,
      from,
      subject: (opts.subject as string | undefined) ?? '',
      body,
      priority,
      type: (opts.type as string | undefined) ?? 'notice',
    });
    if (opts.json === true) return printJson(messageJson(SendMailResponseSchema, res));
    out(
      res.state === 'queued'
        ? `queued ${res.id} for ${res.to} (${oneLine(res.detail)}); it is delivered when the machine answers (see \`gt mail outbox\`)`
        : `sent ${res.id} to ${res.to} (${res.state})`,
    );
  });
}

export async function outbox(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const res = await client.listOutbox({ retry: opts.retry === true, dueOnly: false });
    for (const w of res.warnings) err(`warning: ${w}`);
    if (opts.json === true) return printJson(messageJson(ListOutboxResponseSchema, res));
    if (res.delivered.length > 0)
      out(`delivered ${res.delivered.length}: ${res.delivered.join(', ')}`);
    if (res.entries.length === 0) return out('outbox: empty (nothing waits for a machine)');
    out(`outbox: ${res.entries.length} message(s) waiting`);
    out(
      table(
        ['ID', 'MACHINE', 'TO', 'QUEUED', 'ATTEMPTS', 'NEXT', 'WHY'],
        res.entries.map((e) => [
          e.message?.id ?? '',
          e.machine,
          e.message?.to ?? '',
          e.queuedAt.replace('T', ' ').slice(0, 19),
          String(e.attempts),
          e.attempts === 0 ? '' : e.nextAttemptAt.replace('T', ' ').slice(0, 19),
          e.lastError,
        ]),
      ),
    );
  });
}

function inboxRow(m: MailMessage): string[] {
  const flag = m.read ? ' ' : color.bold('*');
  return [
    flag,
    m.id,
    m.createdAt.replace('T', ' ').slice(0, 19),
    m.from,
    m.priority === 'normal' ? '' : m.priority,
    m.type,
    m.subject,
  ];
}

export async function inbox(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const address = await identity(opts, client);
    const res = await client.listMail({ address, unreadOnly: opts.unread === true });
    for (const w of res.warnings) err(`warning: ${w}`);
    if (opts.json === true) return printJson(messageJson(ListMailResponseSchema, res));
    if (res.messages.length === 0)
      return out(`${address}: no ${opts.unread === true ? 'unread ' : ''}mail`);
    out(
      `${address}: ${res.messages.length} message(s), ${res.messages.filter((m) => !m.read).length} unread`,
    );
    out(
      table(['', 'ID', 'DATE', 'FROM', 'PRIORITY', 'TYPE', 'SUBJECT'], res.messages.map(inboxRow)),
    );
  });
}

export async function read(...args: unknown[]): Promise<void> {
  const [id] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const address = await identity(opts, client);
    const m = await client.readMail({ address, id, peek: opts.peek === true });
    if (opts.json === true) return printJson(messageJson(MailMessageSchema, m));
    out(
      `From:     ${oneLine(m.from)}\nTo:       ${oneLine(m.to)}\nDate:     ${m.createdAt}\nSubject:  ${oneLine(m.subject)}\nType:     ${oneLine(m.type)}  Priority: ${m.priority}  Id: ${m.id}`,
    );
    if (m.threadId !== '') out(`Thread:   ${oneLine(m.threadId)}`);
    out('');
    out(m.body);
  });
}

export async function reply(...args: unknown[]): Promise<void> {
  const [id] = args as [string];
  const opts = optionsOf(args);
  const body = messageText(opts);
  await withCoordinator(opts, async ({ client }) => {
    const me = await identity(opts, client);
    const original = await client.readMail({ address: me, id, peek: false });
    const subject =
      (opts.subject as string | undefined) ??
      (/^re:/i.test(original.subject) ? original.subject : `Re: ${original.subject}`);
    const res = await client.sendMail({
      to: original.from,
      from: me,
      subject,
      body,
      priority: checkPriority(opts.priority as string | undefined),
      type: 'reply',
      threadId: original.threadId === '' ? original.id : original.threadId,
      replyTo: original.id,
    });
    if (opts.json === true) return printJson(messageJson(SendMailResponseSchema, res));
    out(`replied ${res.id} to ${res.to}`);
  });
}

export async function markRead(...args: unknown[]): Promise<void> {
  const ids = (args[0] as string[] | undefined) ?? [];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const address = await identity(opts, client);
    const res = await client.markMailRead({ address, ids, all: opts.all === true });
    if (opts.json === true) return printJson({ marked: res.marked });
    out(`marked ${res.marked} message(s) read`);
  });
}
