/** A node agent instance: its service implementation plus lifecycle. */
import { silentLog, type Log } from './log.js';
import { createNodeAgentService, type NodeAgentImpl } from './service.js';

export interface CreateNodeAgentOptions {
  townRoot: string;
  machine?: string;
  log?: Log;
}

export interface NodeAgentInstance {
  impl: NodeAgentImpl;
  close(): Promise<void>;
}

export function createNodeAgent(options: CreateNodeAgentOptions): NodeAgentInstance {
  const log = (options.log ?? silentLog).child({ component: 'node-agent' });
  const impl = createNodeAgentService({
    townRoot: options.townRoot,
    machine: options.machine ?? 'local',
    log,
  });
  let closed = false;
  return {
    impl,
    async close() {
      if (closed) return;
      closed = true;
    },
  };
}
