/**
 * A polecat that ran on a machine other than its rig's home finished (`gt done` there): its
 * merge request goes to the rig's Refinery as a `merge-request` mail to `<rig>/refinery`,
 * through the coordinator's durable outbox, so a home that is away gets it when it is back and
 * never twice (the id is derived from rig, issue, epoch and head; the home's inbox de-duplicates
 * by id and its queue keeps one record per issue).
 */
import { mergeRequestMail, type DoneResponseSchema, type MessageShape } from '../proto/index.js';
import type { Outbox } from './outbox.js';

type DoneResponse = MessageShape<typeof DoneResponseSchema>;

export interface HandOver {
  /** "delivered", or "queued" with why (the home machine is away). */
  state: 'delivered' | 'queued';
  detail: string;
}

export async function handOverMerge(
  outbox: Outbox,
  o: { rig: string; polecat: string; home: string; ranOn: string; done: DoneResponse },
  signal?: AbortSignal,
): Promise<HandOver> {
  const mail = mergeRequestMail(o.rig, o.polecat, o.done);
  const id = mail.id;
  await outbox.enqueue(o.home, {
    ...mail,
    createdAt: new Date().toISOString(),
    threadId: '',
    replyTo: '',
  });
  const sent = await outbox.drain({
    machines: [o.home],
    force: true,
    fresh: id,
    ...(signal === undefined ? {} : { signal }),
  });
  const refused = sent.failed.get(id);
  if (refused !== undefined) throw refused;
  if (sent.delivered.includes(id)) return { state: 'delivered', detail: '' };
  return {
    state: 'queued',
    detail: `the rig's home ${o.home} is unreachable (${sent.waiting.get(o.home) ?? 'unknown'}); the merge request waits in the coordinator's outbox (\`gt mail outbox\`)`,
  };
}
