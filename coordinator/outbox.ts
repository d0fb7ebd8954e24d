/**
 * The coordinator's durable outbox: mail for another machine is written here (temp file + fsync +
 * rename) before it is sent, and removed only once the target node agent has acknowledged it. A
 * machine that cannot be reached leaves its mail here; later sends to it, `gt mail outbox --retry`
 * and the daemon's loop deliver what waits, per machine in the order it was queued, with
 * exponential backoff and jitter between attempts. The target inbox ignores an id it already
 * holds, so a retry after a lost acknowledgement delivers once (DESIGN.md §6, Mail).
 *
 * Files: `<town>/outbox/<queued ms>-<seq>-<id hash>.json` (names sort in queue order); one lock
 * per machine (`<town>/outbox/.<machine>.lock`) so two processes never deliver the same
 * machine's mail at once or out of order.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  GtError,
  errorMessage,
  parseJsonText,
  withFileLock,
  writeJsonAtomic,
} from '../proto/index.js';
import { askMachine } from './fan-out.js';
import type { MachineRegistry } from './machines.js';

/** Errors that mean "the machine is not there now": the mail waits. Anything else is final. */
const WAIT_CODES = new Set(['GT_MACHINE_UNREACHABLE', 'GT_TIMEOUT']);

const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 5 * 60_000;

const MessageSchema = z
  .object({
    id: z.string().min(1),
    from: z.string(),
    to: z.string().min(1),
    subject: z.string(),
    body: z.string(),
    createdAt: z.string(),
    priority: z.string(),
    type: z.string(),
    threadId: z.string(),
    replyTo: z.string(),
    /** Spawn epoch of the worker the message is about (absent: none). */
    epoch: z.number().int().nonnegative().optional(),
    /** The message's fields beyond these, as one JSON object (MailMessage.extra_json). */
    extraJson: z.string().optional(),
  })
  .strict();

export const OutboxEntrySchema = z
  .object({
    version: z.literal(1),
    machine: z.string().min(1),
    message: MessageSchema,
    queued_at: z.string(),
    attempts: z.number().int().nonnegative(),
    last_error: z.string().optional(),
    next_attempt_at: z.string(),
  })
  .strict();
export type OutboxEntry = z.infer<typeof OutboxEntrySchema> & { file: string };
export type OutboxMessage = z.infer<typeof MessageSchema>;

/** A queued message as the wire carries it (unread; the epoch as the proto's integer). */
export function wireMessage(m: OutboxMessage) {
  return { ...m, epoch: BigInt(m.epoch ?? 0), read: false };
}

export function outboxDir(townRoot: string): string {
  return join(townRoot, 'outbox');
}

let seq = 0;

export interface OutboxOptions {
  townRoot: string;
  registry: MachineRegistry;
  /** Time one delivery attempt gets. */
  timeoutMs: number;
}

export interface Delivery {
  delivered: string[];
  /** Per machine that could not be reached: why. */
  waiting: Map<string, string>;
  /** Mail the target refused for good (no such agent, ...), by id. */
  failed: Map<string, GtError>;
}

type Attempt = { ok: true } | { wait: string } | { failed: GtError };

export class Outbox {
  readonly dir: string;
  readonly #o: OutboxOptions;
  /**
   * What became of mail sent through this outbox that another drain delivered (or found refused)
   * while its own sender waited for the lock: concurrent `gt send`s to one machine share the
   * drain, and each sender is told its own message's outcome. Taken once, by that sender.
   */
  readonly #outcomes = new Map<string, true | GtError>();

  constructor(options: OutboxOptions) {
    this.#o = options;
    this.dir = outboxDir(options.townRoot);
  }

  /**
   * Write the message for `machine` durably; resolves once it is on disk. Idempotent by message
   * id: a message still waiting is not queued twice.
   */
  async enqueue(machine: string, message: OutboxMessage, now = new Date()): Promise<OutboxEntry> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const hash = createHash('sha256').update(message.id).digest('hex').slice(0, 16);
    // The same id again (a sender's retry after a lost answer) keeps its place: no second copy.
    const held = this.list().entries.find(
      (e) => e.file.endsWith(`-${hash}.json`) && e.message.id === message.id,
    );
    if (held !== undefined) return held;
    seq += 1;
    const name = `${String(now.getTime()).padStart(15, '0')}-${process.pid}-${seq}-${hash}.json`;
    const entry = {
      version: 1 as const,
      machine,
      message,
      queued_at: now.toISOString(),
      attempts: 0,
      next_attempt_at: now.toISOString(),
    };
    const file = join(this.dir, name);
    await writeJsonAtomic(file, entry);
    return { ...entry, file };
  }

  /** Every entry in queue order, and the files that could not be read (left in place). */
  list(): { entries: OutboxEntry[]; warnings: string[] } {
    if (!existsSync(this.dir)) return { entries: [], warnings: [] };
    const entries: OutboxEntry[] = [];
    const warnings: string[] = [];
    for (const name of readdirSync(this.dir)
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .sort()) {
      const file = join(this.dir, name);
      try {
        entries.push({
          ...parseJsonText(file, readFileSync(file, 'utf8'), OutboxEntrySchema),
          file,
        });
      } catch (err) {
        if (existsSync(file)) warnings.push(errorMessage(err));
      }
    }
    return { entries, warnings };
  }

  /**
   * Deliver what waits for `machines` (all by default), per machine in queue order, stopping at
   * that machine's first failure. `force` ignores the backoff (a new send, or an explicit retry).
   */
  async drain(
    options: {
      machines?: string[];
      force?: boolean;
      signal?: AbortSignal;
      now?: () => Date;
      /** The id of mail being sent now: refused for good, it is dropped (the sender is told). */
      fresh?: string;
    } = {},
  ): Promise<Delivery> {
    const now = options.now ?? (() => new Date());
    const byMachine = new Map<string, OutboxEntry[]>();
    for (const e of this.list().entries)
      if (options.machines === undefined || options.machines.includes(e.machine))
        byMachine.set(e.machine, [...(byMachine.get(e.machine) ?? []), e]);
    const result: Delivery = { delivered: [], waiting: new Map(), failed: new Map() };
    await Promise.all(
      [...byMachine.keys()].map((machine) =>
        withFileLock(join(this.dir, `.${machine}`), async () => {
          // Read again under the lock: another process may have delivered some meanwhile.
          const queue = this.list().entries.filter((e) => e.machine === machine);
          for (const entry of queue) {
            if (options.force !== true && Date.parse(entry.next_attempt_at) > now().getTime()) {
              result.waiting.set(machine, entry.last_error ?? 'waiting for its next attempt');
              return;
            }
            const attempt = await this.#deliver(entry, options.signal);
            if ('ok' in attempt) {
              unlinkSync(entry.file);
              result.delivered.push(entry.message.id);
              if (entry.message.id !== options.fresh) this.#note(entry.message.id, true);
            } else if ('failed' in attempt) {
              // Refused for good: the sender of fresh mail is told; older mail is kept beside
              // the queue for a human (doctor lists it) rather than dropped.
              if (entry.message.id !== options.fresh)
                await writeJsonAtomic(`${entry.file}.undeliverable`, {
                  ...entry,
                  file: undefined,
                  last_error: attempt.failed.message,
                });
              unlinkSync(entry.file);
              result.failed.set(entry.message.id, attempt.failed);
              if (entry.message.id !== options.fresh) this.#note(entry.message.id, attempt.failed);
            } else {
              result.waiting.set(machine, attempt.wait);
              await this.#postpone(entry, attempt.wait, now());
              return;
            }
          }
        }),
      ),
    );
    // Fresh mail another drain already took care of: its outcome, for its sender.
    const fresh = options.fresh;
    const outcome = fresh === undefined ? undefined : this.#outcomes.get(fresh);
    if (fresh !== undefined && outcome !== undefined) {
      this.#outcomes.delete(fresh);
      if (outcome === true) result.delivered.push(fresh);
      else result.failed.set(fresh, outcome);
    }
    return result;
  }

  /** Remember an outcome for a waiting sender; the oldest go first past 10,000 (no sender left). */
  #note(id: string, outcome: true | GtError): void {
    this.#outcomes.set(id, outcome);
    if (this.#outcomes.size > 10_000) {
      const oldest = this.#outcomes.keys().next().value;
      if (oldest !== undefined) this.#outcomes.delete(oldest);
    }
  }

  /** One attempt: delivered (or already there), wait for the machine, or refused for good. */
  async #deliver(entry: OutboxEntry, signal?: AbortSignal): Promise<Attempt> {
    const { registry, timeoutMs } = this.#o;
    if (!registry.has(entry.machine))
      return {
        failed: new GtError(
          'GT_MACHINE_UNKNOWN',
          `machine "${entry.machine}" is no longer in config/federation.json`,
        ),
      };
    try {
      await askMachine(
        registry,
        entry.machine,
        (c, s) => c.deliverMail({ message: wireMessage(entry.message) }, { signal: s }),
        { timeoutMs, signal },
      );
      return { ok: true };
    } catch (err) {
      const gt = err instanceof GtError ? err : new GtError('GT_INTERNAL', errorMessage(err));
      return WAIT_CODES.has(gt.code) ? { wait: gt.message } : { failed: gt };
    }
  }

  async #postpone(entry: OutboxEntry, why: string, now: Date): Promise<void> {
    const attempts = entry.attempts + 1;
    const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempts - 1));
    const jittered = Math.round(wait * (0.5 + Math.random() / 2));
    const { file, ...rest } = entry;
    await writeJsonAtomic(file, {
      ...rest,
      attempts,
      last_error: why,
      next_attempt_at: new Date(now.getTime() + jittered).toISOString(),
    });
  }
}

/** What doctor says of the outbox: a problem each (unreadable, undeliverable, waiting mail). */
export interface OutboxProblem {
  status: 'ok' | 'warning' | 'error';
  message: string;
  hint: string;
}

export function outboxProblems(outbox: Outbox, now = Date.now()): OutboxProblem[] {
  const { entries, warnings } = outbox.list();
  const problems: OutboxProblem[] = warnings.map((w) => ({
    status: 'error' as const,
    message: `${w} (mail in the outbox that cannot be read is never delivered)`,
    hint: 'fix the named field by hand, or move the file out of the outbox (its message is inside, for a human to resend)',
  }));
  const byMachine = new Map<string, OutboxEntry[]>();
  for (const e of entries) byMachine.set(e.machine, [...(byMachine.get(e.machine) ?? []), e]);
  for (const [machine, waiting] of byMachine) {
    const oldest = waiting[0]?.queued_at ?? '';
    const minutes = Math.round((now - Date.parse(oldest)) / 60_000);
    problems.push({
      status: 'warning',
      message: `${waiting.length} message(s) wait for machine ${machine} since ${oldest} (${minutes} min): ${waiting.at(-1)?.last_error ?? 'not tried yet'}`,
      hint: `they are delivered when ${machine} answers (\`gt up\` retries every few seconds); check it with \`gt machine status ${machine}\`, then \`gt mail outbox --retry\``,
    });
  }
  const undeliverable = existsSync(outbox.dir)
    ? readdirSync(outbox.dir).filter((n) => n.endsWith('.undeliverable'))
    : [];
  if (undeliverable.length > 0)
    problems.push({
      status: 'warning',
      message: `${undeliverable.length} queued message(s) were refused by their machine for good (e.g. the agent is gone): ${undeliverable.map((n) => join(outbox.dir, n)).join(', ')}`,
      hint: 'each file holds the message and the reason; resend it to the right address with `gt send`, then delete the file',
    });
  return problems;
}
