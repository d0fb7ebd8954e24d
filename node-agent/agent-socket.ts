/**
 * The Coordinator service as sessions on a worker machine see it: served by the node agent on an
 * owner-only socket in its town (`<town>/run/agent-gt.sock`); a session's `gt` and `bd` find it
 * through GT_AGENT_SOCKET. Every call goes up the Attach stream (the Uplink) and is answered by
 * the coordinator as if run on its own machine, except mail: SendMail is first made durable in
 * this machine's outbox (outbox-up.ts), and ListOutbox lists that outbox.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  Coordinator,
  mergeRequestMail,
  parseAddress,
  passThrough,
  type DoneRequest,
  type CallContext,
  type ImplOf,
  type ListOutboxRequest,
  type SendMailRequest,
} from '../proto/index.js';
import type { UpOutbox } from './outbox-up.js';
import type { NodeAgentImpl } from './service.js';
import { listRigs, rigPaths } from './town/index.js';
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
  /** This machine's own node agent: what is local is answered here. */
  local: NodeAgentImpl;
  townRoot: string;
}): ImplOf<typeof Coordinator> {
  const { uplink, outbox } = options;
  const impl: Record<string, (req: unknown, ctx: CallContext) => Promise<unknown>> = {};
  for (const method of Coordinator.methods)
    impl[method.localName] = (req, ctx) => uplink.call(method.name, req, passThrough(ctx));
  impl.sendMail = async (req) => outbox.send(req as SendMailRequest);
  impl.done = async (req, ctx) => localDone(options, req as DoneRequest, ctx);
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

/**
 * `gt done` of a polecat running on this machine is answered here, so an agent finishes its work
 * while the coordinator is away. For a rig homed elsewhere (a satellite) the merge request then
 * leaves through the outbox toward the coordinator, durable before this returns, and reaches the
 * home's Refinery once (its id is derived from the request). Anything else goes up as before.
 */
async function localDone(
  o: { uplink: Uplink; outbox: UpOutbox; local: NodeAgentImpl; townRoot: string },
  req: DoneRequest,
  ctx: CallContext,
): Promise<unknown> {
  let address: ReturnType<typeof parseAddress> | undefined;
  try {
    address = parseAddress(req.address);
  } catch {
    address = undefined;
  }
  const rig = address?.rig;
  const name = address?.role === 'polecat' ? address.name : undefined;
  if (address?.machine !== undefined || rig === undefined || name === undefined)
    return o.uplink.call('Done', req, passThrough(ctx));
  if (!existsSync(join(rigPaths(o.townRoot, rig).polecatsDir, name, 'state.json')))
    return o.uplink.call('Done', req, passThrough(ctx));
  const done = await o.local.done(req, ctx);
  const satellite = (await listRigs(o.townRoot, { satellites: true })).find((r) => r.name === rig);
  if (satellite?.home_machine === undefined) return done;
  const mail = mergeRequestMail(rig, name, {
    address: done.address ?? req.address,
    issue: done.issue ?? '',
    branch: done.branch ?? '',
    head: done.head ?? '',
    epoch: done.epoch ?? 0n,
  });
  const sent = await o.outbox.send(mail);
  return {
    ...done,
    queueRecord:
      sent.state === 'delivered'
        ? `${rig}/refinery/queue/${done.issue ?? ''}.json on ${satellite.home_machine}`
        : `queued for ${rig}/refinery on ${satellite.home_machine} (${sent.detail})`,
  };
}
