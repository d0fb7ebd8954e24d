/**
 * The worker machine's outbox toward the coordinator: mail sent from a session here (or by this
 * node agent's own loops) to an address that is not local is first written here, one atomic file
 * per message with the id assigned here, then carried up the Attach stream (SendMail through the
 * Uplink). Each file is removed only after the coordinator acknowledged it; what waits is sent in
 * queue order when a stream (re)opens. The coordinator's outbox and every inbox keep a message id
 * once, so a retry after a lost acknowledgement delivers once.
 *
 * Files: `<town>/outbox-up/<queued ms>-<seq>-<id hash>.json` (names sort in queue order); mail
 * the coordinator refused for good moves to `<town>/outbox-up/undeliverable/`. Only the node
 * agent writes here (one per town: its pid file), so an in-process chain keeps sends in order.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  GtError,
  SendMailRequestSchema,
  create,
  errorMessage,
  fromJson,
  newMailId,
  parseAddress,
  parseJsonText,
  toJson,
  writeJsonAtomic,
  type MessageInitShape,
  type SendMailRequest,
  type SendMailResponse,
} from '../proto/index.js';
import type { Log } from './log.js';
import type { DoctorCheck, DoctorProblem } from './town/index.js';
import type { Uplink } from './uplink.js';

const EntrySchema = z
  .object({
    version: z.literal(1),
    request: z.record(z.string(), z.unknown()),
    queued_at: z.string(),
    attempts: z.number().int().nonnegative(),
    last_error: z.string().optional(),
  })
  .strict();

export interface UpOutboxEntry {
  file: string;
  request: SendMailRequest;
  queuedAt: string;
  attempts: number;
  lastError: string;
}

export interface SentUp {
  id: string;
  to: string;
  state: 'delivered' | 'queued';
  detail: string;
}

/** Errors that mean "the coordinator is not there now": the mail waits. */
const WAIT_CODES = new Set(['GT_COORDINATOR_UNREACHABLE', 'GT_TIMEOUT', 'GT_CANCELLED']);
const ATTEMPT_TIMEOUT_MS = 30_000;
const RETRY_EVERY_MS = 5_000;

export function upOutboxDir(townRoot: string): string {
  return join(townRoot, 'outbox-up');
}

export class UpOutbox {
  readonly dir: string;
  readonly #uplink: Uplink;
  readonly #log: Log;
  #chain: Promise<unknown> = Promise.resolve();
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  /** Sends still waiting for their message's outcome, by id. */
  readonly #senders = new Map<string, Outcome>();

  constructor(options: { townRoot: string; uplink: Uplink; log: Log }) {
    this.dir = upOutboxDir(options.townRoot);
    this.#uplink = options.uplink;
    this.#log = options.log;
  }

  /** Send what waits whenever the stream opens, and retry every few seconds while connected. */
  start(): void {
    this.#unsubscribe = this.#uplink.onOpen(() => void this.drain().catch(() => undefined));
    this.#timer = setInterval(() => {
      if (this.#uplink.connected && this.list().length > 0)
        void this.drain().catch(() => undefined);
    }, RETRY_EVERY_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#unsubscribe?.();
    await this.#chain.catch(() => undefined);
  }

  /**
   * Mail `request` to an address anywhere in the fleet: durable here before this returns, then
   * sent up after what already waits. "queued" when the coordinator is not connected.
   */
  async send(init: MessageInitShape<typeof SendMailRequestSchema>): Promise<SentUp> {
    const request = create(SendMailRequestSchema, init);
    // What would be refused for good is refused now, not queued.
    parseAddress(request.to);
    if (request.subject.trim() === '' && request.body.trim() === '')
      throw new GtError(
        'GT_INVALID_ARGUMENT',
        'the message has an empty subject and an empty body',
        {
          hint: 'say something: -s "subject" and/or -m "text"',
        },
      );
    if (request.id === '') request.id = newMailId();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.#seq += 1;
    const hash = createHash('sha256').update(request.id).digest('hex').slice(0, 16);
    const name = `${String(Date.now()).padStart(15, '0')}-${String(this.#seq).padStart(6, '0')}-${hash}.json`;
    await writeJsonAtomic(join(this.dir, name), {
      version: 1,
      request: toJson(SendMailRequestSchema, request),
      queued_at: new Date().toISOString(),
      attempts: 0,
    });
    // Whichever drain sends it (this one, or one already running) records how it went.
    const outcome: Outcome = {};
    this.#senders.set(request.id, outcome);
    let result: Drained;
    try {
      result = await this.drain();
    } finally {
      this.#senders.delete(request.id);
    }
    if (outcome.failed !== undefined) throw outcome.failed;
    if (outcome.sent !== undefined)
      return {
        id: request.id,
        to: request.to,
        state: outcome.sent.state === 'queued' ? 'queued' : 'delivered',
        detail: outcome.sent.detail,
      };
    return {
      id: request.id,
      to: request.to,
      state: 'queued',
      detail: result.waiting ?? 'waiting behind earlier mail',
    };
  }

  /** What waits, in queue order (unreadable files are skipped and logged). */
  list(): UpOutboxEntry[] {
    if (!existsSync(this.dir)) return [];
    const entries: UpOutboxEntry[] = [];
    for (const name of readdirSync(this.dir)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      const file = join(this.dir, name);
      try {
        const e = parseJsonText(file, readFileSync(file, 'utf8'), EntrySchema);
        entries.push({
          file,
          request: fromJson(SendMailRequestSchema, e.request as never),
          queuedAt: e.queued_at,
          attempts: e.attempts,
          lastError: e.last_error ?? '',
        });
      } catch (err) {
        if (existsSync(file))
          this.#log.warn({ err, file }, 'unreadable outbox-up entry left in place');
      }
    }
    return entries;
  }

  /** Send what waits, in order, stopping at the first that cannot go now. One drain at a time. */
  drain(): Promise<Drained> {
    const run = this.#chain.then(() => this.#drainNow());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #drainNow(): Promise<Drained> {
    const result: Drained = { sent: new Map(), failed: new Map(), waiting: undefined };
    for (const entry of this.list()) {
      try {
        const res = (await this.#uplink.call('SendMail', entry.request, {
          timeoutMs: ATTEMPT_TIMEOUT_MS,
        })) as SendMailResponse;
        unlinkSync(entry.file);
        result.sent.set(entry.request.id, res);
        const sender = this.#senders.get(entry.request.id);
        if (sender !== undefined) sender.sent = res;
      } catch (err) {
        const code = err instanceof GtError ? err.code : '';
        if (WAIT_CODES.has(code)) {
          result.waiting =
            code === 'GT_COORDINATOR_UNREACHABLE'
              ? `coordinator not connected to machine ${this.#uplink.machine}`
              : `coordinator did not answer: ${errorMessage(err)}`;
          await this.#postpone(entry, errorMessage(err));
          return result;
        }
        // Refused for good: a sender still waiting is told; older mail is kept for a human.
        const refused =
          err instanceof GtError ? err : new GtError('GT_INTERNAL', errorMessage(err));
        const sender = this.#senders.get(entry.request.id);
        if (sender !== undefined) {
          sender.failed = refused;
          unlinkSync(entry.file);
        } else {
          mkdirSync(join(this.dir, 'undeliverable'), { recursive: true, mode: 0o700 });
          renameSync(
            entry.file,
            join(this.dir, 'undeliverable', entry.file.split('/').pop() ?? ''),
          );
          this.#log.warn({ err, id: entry.request.id }, 'mail refused by the coordinator');
        }
        result.failed.set(entry.request.id, refused);
      }
    }
    return result;
  }

  async #postpone(entry: UpOutboxEntry, why: string): Promise<void> {
    await writeJsonAtomic(entry.file, {
      version: 1,
      request: toJson(SendMailRequestSchema, entry.request),
      queued_at: entry.queuedAt,
      attempts: entry.attempts + 1,
      last_error: why,
    }).catch(() => undefined);
  }
}

interface Outcome {
  sent?: SendMailResponse;
  failed?: GtError;
}

/**
 * gt doctor on this machine: mail that waits here for the coordinator, or that it refused for
 * good, is a warning (nothing is lost; it says where it is and what sends it).
 */
export const OUTBOX_UP_CHECK: DoctorCheck = {
  id: 'mail-outbox-up',
  scope: 'workspace',
  title: 'no mail waits on this machine for the coordinator',
  run: async ({ townRoot }) => {
    const dir = upOutboxDir(townRoot);
    const names = (sub: string) =>
      existsSync(join(dir, sub))
        ? readdirSync(join(dir, sub)).filter((n) => n.endsWith('.json'))
        : [];
    const problems: DoctorProblem[] = [];
    const waiting = names('').sort();
    if (waiting.length > 0) {
      const oldest = Number(waiting[0]?.split('-')[0] ?? '0');
      problems.push({
        status: 'warning',
        message: `${waiting.length} message(s) wait in ${dir} for the coordinator (oldest queued ${new Date(oldest).toISOString()})`,
        hint: "they are sent, in order, when the coordinator's daemon connects to this machine: run `gt up` on the coordinator's machine",
      });
    }
    const refused = names('undeliverable');
    if (refused.length > 0)
      problems.push({
        status: 'warning',
        message: `${refused.length} message(s) the coordinator refused for good are kept in ${join(dir, 'undeliverable')}`,
        hint: 'read them, send again what still matters with `gt send`, then delete the files',
      });
    return problems;
  },
};

export interface Drained {
  sent: Map<string, SendMailResponse>;
  failed: Map<string, GtError>;
  /** Why the queue stopped (the coordinator is not connected), if it did. */
  waiting: string | undefined;
}
