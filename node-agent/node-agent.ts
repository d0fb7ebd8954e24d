/** A node agent instance: its service implementation plus lifecycle. */
import { silentLog, type Log } from './log.js';
import { createNodeAgentService, type NodeAgentImpl } from './service.js';
import type { Uplink } from './uplink.js';
import { relayedCoordinator } from './agent-socket.js';
import { UpOutbox, type SentUp } from './outbox-up.js';
import { registerAwayMail, sendRequestOf } from './mail/index.js';
import { MayorForwarder } from './mayor-forward.js';
import { LoopLedger } from './loop-ledger.js';
import { startOwnLoops } from './own-loops.js';
import type {
  Coordinator,
  ImplOf,
  MessageInitShape,
  SendMailRequestSchema,
} from '../proto/index.js';

export interface CreateNodeAgentOptions {
  townRoot: string;
  machine?: string;
  log?: Log;
  /** Carries calls up the Attach stream (the standalone node agent on a worker machine). */
  uplink?: Uplink;
  /**
   * Run this machine's own Witness and Refinery loops (own-loops.ts; the standalone service on a
   * worker machine). `tickMs`: how often they look for rigs due a run.
   */
  loops?: { tickMs?: number };
}

export interface NodeAgentInstance {
  impl: NodeAgentImpl;
  /**
   * With an uplink (a worker machine): mail to any address in the fleet through this machine's
   * durable outbox toward the coordinator (outbox-up.ts); "queued" while it is not connected.
   */
  sendMailUp?: (request: MessageInitShape<typeof SendMailRequestSchema>) => Promise<SentUp>;
  /** With an uplink: the Coordinator service sessions on this machine call (agent-socket.ts). */
  relayedCoordinator?: ImplOf<typeof Coordinator>;
  close(): Promise<void>;
}

export function createNodeAgent(options: CreateNodeAgentOptions): NodeAgentInstance {
  const log = (options.log ?? silentLog).child({ component: 'node-agent' });
  const machine = options.machine ?? 'local';
  const ledger = new LoopLedger({ own: options.loops !== undefined, machine });
  const impl = createNodeAgentService({
    townRoot: options.townRoot,
    machine,
    log,
    ledger,
    ...(options.uplink === undefined ? {} : { uplink: options.uplink }),
  });
  const outbox =
    options.uplink === undefined
      ? undefined
      : new UpOutbox({ townRoot: options.townRoot, uplink: options.uplink, log });
  outbox?.start();
  // A worker machine: its loops' mail for agents elsewhere leaves through the same outbox.
  const forwarder =
    outbox === undefined
      ? undefined
      : new MayorForwarder({ townRoot: options.townRoot, send: (r) => outbox.send(r), log });
  forwarder?.start();
  if (outbox !== undefined)
    // Every field of the message travels (epoch, issue, head …), not only subject and body.
    registerAwayMail(options.townRoot, async (mail) => {
      await outbox.send(sendRequestOf(mail));
    });
  const loops =
    options.loops === undefined
      ? undefined
      : startOwnLoops({
          townRoot: options.townRoot,
          ledger,
          log,
          ...(options.loops.tickMs === undefined ? {} : { tickMs: options.loops.tickMs }),
        });
  let closed = false;
  return {
    impl,
    ...(outbox === undefined || options.uplink === undefined
      ? {}
      : {
          sendMailUp: (request) => outbox.send(request),
          relayedCoordinator: relayedCoordinator({
            uplink: options.uplink,
            outbox,
            local: impl,
            townRoot: options.townRoot,
          }),
        }),
    async close() {
      if (closed) return;
      closed = true;
      // The loops first: what their last runs mail still leaves through the outbox.
      await loops?.stop();
      if (outbox !== undefined) registerAwayMail(options.townRoot, undefined);
      await forwarder?.close();
      await outbox?.close();
    },
  };
}
