/**
 * The Coordinator service as sessions on a worker machine see it: served by the node agent on an
 * owner-only socket in its town (`<town>/run/agent-gt.sock`); a session's `gt` and `bd` find it
 * through GT_AGENT_SOCKET. Every call goes up the Attach stream (the Uplink) and is answered by
 * the coordinator as if run on its own machine, except mail: SendMail is first made durable in
 * this machine's outbox (outbox-up.ts), and ListOutbox lists that outbox.
 */
import { join } from 'node:path';
import {
  Coordinator,
  passThrough,
  type CallContext,
  type ImplOf,
  type ListOutboxRequest,
  type SendMailRequest,
} from '../proto/index.js';
import type { UpOutbox } from './outbox-up.js';
import type { Uplink } from './uplink.js';

/** The socket sessions on this machine reach the coordinator through. */
export function agentSocketPath(townRoot: string): string {
  return join(townRoot, 'run', 'agent-gt.sock');
}

/** What `gt mail outbox` shows as the machine mail waits for. */
export const UP_OUTBOX_TARGET = 'coordinator';

export function relayedCoordinator(options: {
  uplink: Uplink;
  outbox: UpOutbox;
}): ImplOf<typeof Coordinator> {
  const { uplink, outbox } = options;
  const impl: Record<string, (req: unknown, ctx: CallContext) => Promise<unknown>> = {};
  for (const method of Coordinator.methods)
    impl[method.localName] = (req, ctx) => uplink.call(method.name, req, passThrough(ctx));
  impl.sendMail = async (req) => outbox.send(req as SendMailRequest);
  impl.listOutbox = async (req) => {
    const delivered = (req as ListOutboxRequest).retry
      ? [...(await outbox.drain()).sent.keys()]
      : [];
    return {
      delivered,
      warnings: [],
      entries: outbox.list().map((e) => ({
        message: {
          id: e.request.id,
          from: e.request.from,
          to: e.request.to,
          subject: e.request.subject,
          body: e.request.body,
          createdAt: e.queuedAt,
          priority: e.request.priority,
          type: e.request.type,
          threadId: e.request.threadId,
          replyTo: e.request.replyTo,
          read: false,
        },
        machine: UP_OUTBOX_TARGET,
        queuedAt: e.queuedAt,
        attempts: e.attempts,
        lastError: e.lastError,
        nextAttemptAt: '',
        file: e.file,
      })),
    };
  };
  return impl as unknown as ImplOf<typeof Coordinator>;
}
