/**
 * On a worker machine the Mayor is not here: mail this machine's own loops leave in the local
 * Mayor's inbox (a Witness escalation, "swarm complete" of a rig homed here) is carried to the
 * Mayor on the coordinator's machine through the durable outbox toward it, with its own id, so
 * the Mayor's inbox keeps it once however often it is sent. Forwarded ids are written down
 * (`mayor/mail/forwarded-up.json`) after the outbox holds the message; the local copy stays as
 * this machine's trace. Checked every few seconds, only when the inbox file changed.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  readJsonFile,
  writeJsonAtomic,
  type MessageInitShape,
  type SendMailRequestSchema,
} from '../proto/index.js';
import type { Log } from './log.js';
import { Mailbox, sendRequestOf } from './mail/index.js';
import { agentHomeFiles, townPaths } from './town/index.js';

const ForwardedSchema = z.object({ version: z.literal(1), ids: z.array(z.string()) }).strict();
const EVERY_MS = 2_000;

export interface MayorForwarderOptions {
  townRoot: string;
  send: (request: MessageInitShape<typeof SendMailRequestSchema>) => Promise<unknown>;
  log: Log;
}

export class MayorForwarder {
  readonly #o: MayorForwarderOptions;
  readonly #home: string;
  #seen = '';
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(options: MayorForwarderOptions) {
    this.#o = options;
    this.#home = townPaths(options.townRoot).mayorHome;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running = this.#running
        .then(async () => {
          await this.tick();
        })
        .catch((err: unknown) => {
          this.#o.log.warn({ err }, 'mayor mail not forwarded yet');
        });
    }, EVERY_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#running.catch(() => undefined);
  }

  /** Forward what is new in the local Mayor's inbox; returns how many messages were sent. */
  async tick(): Promise<number> {
    const inbox = agentHomeFiles(this.#home).inbox;
    if (!existsSync(inbox)) return 0;
    const st = statSync(inbox);
    const stamp = `${st.size}:${st.mtimeMs}`;
    if (stamp === this.#seen) return 0;
    const file = join(this.#home, 'mail', 'forwarded-up.json');
    const done = new Set(existsSync(file) ? (await readJsonFile(file, ForwardedSchema)).ids : []);
    let sent = 0;
    for (const m of await new Mailbox({ home: this.#home }).list()) {
      if (done.has(m.id)) continue;
      // All of it (epoch, issue and any other field), as it was written here.
      await this.#o.send(sendRequestOf({ ...m, to: 'mayor' }));
      done.add(m.id);
      sent += 1;
      await writeJsonAtomic(file, { version: 1, ids: [...done] });
    }
    this.#seen = stamp;
    return sent;
  }
}
