// SSH machines: connection, host keys, quoting, the agent bridge and provisioning. Loaded lazily
// through coordinator/index.ts loadSsh(), so commands that stay local never load ssh2.
export { AgentBridge, STDIO_BRIDGE_SCRIPT, type BridgeMode } from './bridge.js';
export { SshConnection, type ExecResult, type SshConnectOptions } from './connection.js';
export { classifySshError, isPermanentSshFailure, type SshTarget } from './errors.js';
export {
  createHostKeyCheck,
  fingerprint,
  hostKeyName,
  townKnownHostsPath,
  type HostKeyCheck,
} from './known-hosts.js';
export {
  GIT_IDENTITY_SCRIPT,
  readGitIdentity,
  syncGitIdentity,
  type GitIdentityFiles,
  type GitIdentitySync,
} from './git-identity.js';
export { SshLink } from './link.js';
export {
  connectSshMachine,
  remoteLayout,
  sshConnectionFactory,
  sshLinkFor,
  sshTargetOf,
  type SshFactoryOptions,
  type SshMachineConnection,
} from './machine.js';
export { quoteArg, remoteCommand } from './quote.js';
export {
  findAgentBundle,
  probePlatform,
  provision,
  restartAgent,
  switchBack,
  type Platform,
  type ProvisionResult,
} from './provision.js';
export {
  provisionMachine,
  type ProvisionMachineOptions,
  type ProvisionMachineResult,
} from './setup.js';
export {
  checkAgentService,
  isHostKeyError,
  type ServiceCheckOptions,
  type ServiceCheckResult,
} from './service-check.js';
