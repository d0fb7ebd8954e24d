// Public surface of node-agent/.
export {
  createNodeAgent,
  type CreateNodeAgentOptions,
  type NodeAgentInstance,
} from './node-agent.js';
export { silentLog, type Log } from './log.js';
export { createNodeAgentService, type NodeAgentImpl, type NodeAgentOptions } from './service.js';
export * from './beads/index.js';
export * from './town/index.js';
export * from './git.js';
export * from './git-identity.js';
export {
  PATH_ORIGIN_HINT,
  assertOriginUsable,
  checkOrigin,
  originHint,
  originPath,
  originRefusal,
  type CheckOriginOptions,
  type OriginCheck,
} from './check-origin.js';
export * from './mail/index.js';
export * from './tmux/index.js';
export * from './agents/index.js';
export { Uplink, UPLINK_DEFAULT_TIMEOUT_MS } from './uplink.js';
export { UpOutbox, upOutboxDir, type SentUp, type UpOutboxEntry } from './outbox-up.js';
export { agentSocketPath, relayedCoordinator, UP_OUTBOX_TARGET } from './agent-socket.js';
