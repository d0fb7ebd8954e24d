/**
 * Mailbox: one agent's inbox, `<home>/mail/inbox.jsonl`, one JSON record per line.
 *
 * One writer discipline (DESIGN.md §4): every append and every rewrite holds the inbox lock
 * (`inbox.jsonl.lock`, proto's withFileLock), so agents, daemons and CLIs appending and marking
 * read at once lose and duplicate nothing. A rewrite is atomic (temp file + rename), so a reader
 * that does not take the lock sees either the old or the new inbox, never half of one.
 *
 * Exactly-once delivery: append is keyed by message id. Appending an id that is already in the
 * inbox is a no-op, so an outbox that retries a send after a lost acknowledgement delivers once.
 *
 * Torn and garbage lines (a crash mid-append, a hand edit gone wrong) never make the inbox
 * unreadable: readers skip them with a MailWarning. Decision: the next rewrite (mark-read) moves
 * them, byte for byte, to `mail/inbox.corrupt.jsonl` instead of keeping them in the inbox or
 * dropping them. Keeping them would repeat the warning forever; dropping them would silently
 * lose what may be the only copy of a message. The sidecar is there for `gt doctor` or a human.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  GtError,
  appendFileWhole,
  errorMessage,
  withFileLock,
  writeFailure,
  writeFileAtomic,
} from '../../proto/index.js';
import {
  MailMessageSchema,
  newMailMessage,
  shortMailId,
  type MailMessage,
  type NewMail,
} from './message.js';

export interface MailWarning {
  /** 1-based line number in inbox.jsonl. */
  line: number;
  problem: string;
  /** The first 200 characters of the line. */
  excerpt: string;
}

export interface MailboxOptions {
  /** The agent's home (mayor/, <rig>/witness/, <rig>/polecats/<name>/ ...). */
  home: string;
  /** How long to wait for the inbox lock. Default 15 s. */
  lockTimeoutMs?: number;
  /** Called for every torn or garbage line a read skips. */
  onWarning?: (warning: MailWarning, inboxPath: string) => void;
}

export interface MailScan {
  messages: MailMessage[];
  warnings: MailWarning[];
}

export interface AppendResult {
  message: MailMessage;
  /** False when a message with this id was already in the inbox (a retried send). */
  delivered: boolean;
}

export interface MailCallOptions {
  signal?: AbortSignal;
}

interface ParsedLine {
  raw: string;
  message?: MailMessage;
}

function parseInbox(text: string): { lines: ParsedLine[]; warnings: MailWarning[] } {
  const lines: ParsedLine[] = [];
  const warnings: MailWarning[] = [];
  const rawLines = text.split('\n');
  const unterminated = !text.endsWith('\n');
  rawLines.forEach((raw, index) => {
    if (raw.trim() === '') return;
    const warn = (problem: string): void => {
      warnings.push({ line: index + 1, problem, excerpt: raw.slice(0, 200) });
      lines.push({ raw });
    };
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      const last = unterminated && index === rawLines.length - 1;
      warn(`${last ? 'torn last line' : 'not JSON'}: ${errorMessage(err)}`);
      return;
    }
    const result = MailMessageSchema.safeParse(json);
    if (!result.success) {
      const issue = result.error.issues[0];
      warn(
        `not a mail record: ${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? ''}`,
      );
      return;
    }
    lines.push({ raw, message: result.data });
  });
  return { lines, warnings };
}

export class Mailbox {
  readonly home: string;
  readonly path: string;
  readonly corruptPath: string;
  readonly #lockTimeoutMs: number;
  readonly #onWarning: MailboxOptions['onWarning'];

  constructor(options: MailboxOptions) {
    this.home = options.home;
    this.path = join(options.home, 'mail', 'inbox.jsonl');
    this.corruptPath = join(options.home, 'mail', 'inbox.corrupt.jsonl');
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 15_000;
    this.#onWarning = options.onWarning;
  }

  async #readText(): Promise<string> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw new GtError('GT_INTERNAL', `cannot read inbox ${this.path}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  #parse(text: string): { lines: ParsedLine[]; warnings: MailWarning[] } {
    const parsed = parseInbox(text);
    for (const warning of parsed.warnings) this.#onWarning?.(warning, this.path);
    return parsed;
  }

  #locked<T>(fn: () => Promise<T>, options: MailCallOptions): Promise<T> {
    return withFileLock(this.path, fn, {
      timeoutMs: this.#lockTimeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  /** Every readable message in inbox order, plus a warning per skipped line. */
  async scan(): Promise<MailScan> {
    let text = await this.#readText();
    if (text.length > 0 && !text.endsWith('\n')) {
      // Readers do not lock: an unterminated last line is usually an append in progress.
      // Look again once before calling it torn.
      await new Promise((resolve) => setTimeout(resolve, 20));
      text = await this.#readText();
    }
    const { lines, warnings } = this.#parse(text);
    const messages = lines.flatMap((l) => (l.message === undefined ? [] : [l.message]));
    return { messages, warnings };
  }

  /** Messages in inbox (arrival) order; `unread: true` keeps only unread ones. */
  async list(options: { unread?: boolean } = {}): Promise<MailMessage[]> {
    const { messages } = await this.scan();
    return options.unread === true ? messages.filter((m) => !m.read) : messages;
  }

  /**
   * Deliver a message. A message without id/created_at gets them. If the id is already in the
   * inbox nothing is written and `delivered` is false (exactly-once for retried sends).
   */
  async append(input: NewMail | MailMessage, options: MailCallOptions = {}): Promise<AppendResult> {
    const message = newMailMessage(input);
    const line = `${JSON.stringify(message)}\n`;
    await mkdir(join(this.home, 'mail'), { recursive: true }).catch((err: unknown) => {
      throw writeFailure(join(this.home, 'mail'), err);
    });
    return this.#locked(async () => {
      const text = await this.#readText();
      // Fast path: a record with this id must contain its JSON string; parse only if it does.
      if (text.includes(JSON.stringify(message.id))) {
        const existing = this.#parse(text).lines.find((l) => l.message?.id === message.id);
        if (existing?.message !== undefined) return { message: existing.message, delivered: false };
      }
      // A torn last line (crash mid-append) must not swallow the start of this record.
      const prefix = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
      // Whole or not at all: a full disk mid-line leaves the inbox exactly as it was.
      await appendFileWhole(this.path, prefix + line);
      return { message, delivered: true };
    }, options);
  }

  /**
   * Find one message by full id, id prefix, or short-id (random tail) prefix.
   * Throws GT_NOT_FOUND, or GT_CONFLICT listing the candidates when the prefix is ambiguous.
   */
  async get(idOrPrefix: string): Promise<MailMessage> {
    const messages = await this.list();
    const exact = messages.find((m) => m.id === idOrPrefix);
    if (exact !== undefined) return exact;
    const needle = idOrPrefix.toLowerCase();
    const matches = messages.filter(
      (m) => m.id.toLowerCase().startsWith(needle) || shortMailId(m.id).startsWith(needle),
    );
    const [first, second] = matches;
    if (first !== undefined && second === undefined) return first;
    if (first === undefined) {
      throw new GtError('GT_NOT_FOUND', `no message "${idOrPrefix}" in ${this.path}`, {
        hint: 'run `gt inbox` to see message ids',
      });
    }
    throw new GtError(
      'GT_CONFLICT',
      `message id "${idOrPrefix}" is ambiguous: ${matches.length} messages match`,
      {
        hint: `type more characters; candidates: ${matches
          .slice(0, 5)
          .map((m) => `${shortMailId(m.id)} (${m.subject})`)
          .join(', ')}`,
        details: { candidates: matches.map((m) => m.id) },
      },
    );
  }

  /**
   * Mark messages read (`'all'`, or full ids). Returns the ids that changed from unread to read.
   * Unknown ids are ignored (the message may have been read and moved by another process).
   * The rewrite moves torn/garbage lines to inbox.corrupt.jsonl (see the header comment).
   */
  async markRead(ids: readonly string[] | 'all', options: MailCallOptions = {}): Promise<string[]> {
    const wanted = ids === 'all' ? undefined : new Set(ids);
    if (!existsSync(this.path)) return []; // nothing delivered yet: nothing to mark
    return this.#locked(async () => {
      const { lines } = this.#parse(await this.#readText());
      const now = new Date().toISOString();
      const changed: string[] = [];
      const kept: string[] = [];
      const corrupt: string[] = [];
      for (const line of lines) {
        const message = line.message;
        if (message === undefined) {
          corrupt.push(line.raw);
          continue;
        }
        if (!message.read && (wanted === undefined || wanted.has(message.id))) {
          message.read = true;
          message.read_at = now;
          changed.push(message.id);
        }
        kept.push(JSON.stringify(message));
      }
      if (changed.length === 0 && corrupt.length === 0) return changed;
      if (corrupt.length > 0) {
        await appendFileWhole(this.corruptPath, corrupt.map((raw) => `${raw}\n`).join(''));
      }
      await writeFileAtomic(this.path, kept.map((l) => `${l}\n`).join(''));
      return changed;
    }, options);
  }
}
