// Public surface of coordinator/.
export {
  createCoordinator,
  type CoordinatorImpl,
  type CoordinatorMode,
  type CoordinatorOptions,
} from './coordinator.js';
export {
  LIVENESS_DEFAULTS,
  Liveness,
  livenessSettings,
  type LivenessOptions,
  type MachineLiveness,
} from './liveness.js';
export { FleetDirectory, type Held } from './directory.js';
export { Outbox, OutboxEntrySchema, outboxDir, type OutboxEntry } from './outbox.js';
export { answerRelay, RELAY_DEFAULT_TIMEOUT_MS } from './relay.js';
export {
  checkOriginOn,
  requireOriginOn,
  type CheckOriginOnOptions,
  type OriginAnswer,
} from './origin.js';
export {
  MachineRegistry,
  type ConnectionFactory,
  type MachineConnection,
  type NodeAgentClient,
} from './machines.js';
export {
  FederationSchema,
  MachineSchema,
  readFederation,
  updateFederation,
  writeFederation,
  federationPath,
  GcpTemplateSchema,
  type Federation,
  type GcpTemplate,
  type Grown,
  type Machine,
} from './federation.js';
export { readLedger, updateLedger, swarmMachineMinutes, type GrownRecord } from './grown-ledger.js';
export { GrownShrinker, heldMail, shrinkGrownMethod, type ShrinkOptions } from './grown-shrink.js';
// SSH machines load lazily: only commands that reach a remote machine pay for ssh2.
export type SshModule = typeof import('./ssh/index.js');
export function loadSsh(): Promise<SshModule> {
  return import('./ssh/index.js');
}
// gcp machines load lazily too: only gcp commands and machines load the Compute client.
export type GcpModule = typeof import('./gcp/index.js');
export function loadGcp(): Promise<GcpModule> {
  return import('./gcp/index.js');
}
export {
  startTownDashboard,
  readDashboardInfo,
  readDashboardToken,
  dashboardTokenPath,
  dashboardInfoPath,
  DASHBOARD_ACTIONS,
  TownFeed,
  type TownDashboard,
  type DashboardInfo,
} from './dashboard/index.js';
