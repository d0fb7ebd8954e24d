// What a session on a worker machine is told when its node agent's relay socket (GT_AGENT_SOCKET)
// is not there: said the same by gt (session.ts) and by a relayed bd (bd/relay.ts).
import { GtError } from '../proto/index.js';

export function agentSocketMissing(socket: string): GtError {
  return new GtError(
    'GT_COORDINATOR_UNREACHABLE',
    `the node agent's socket ${socket} (GT_AGENT_SOCKET) is not there`,
    {
      hint: "the node agent on this machine is not running: on the coordinator's machine run `gt machine status <machine>`; `gt machine provision <machine>` starts it again",
    },
  );
}
