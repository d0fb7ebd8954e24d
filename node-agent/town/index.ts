// Public surface of the town library: towns, rigs, status, prime and doctor on this machine's disk.
export * from './schemas.js';
export { rolePrompt, type TemplateRole, type TemplateFacts } from './templates.js';
export {
  townPaths,
  rigPaths,
  agentHomeFiles,
  writeAgentHome,
  type TownPaths,
  type RigPaths,
  type AgentHomeFiles,
  type WriteAgentHomeOptions,
} from './layout.js';
export {
  installTown,
  findTownRoot,
  requireTownRoot,
  loadTown,
  readRigsRegistry,
  registerRig,
  unregisterRig,
  initialFederation,
  type InstallTownOptions,
  type InstalledTown,
  type Town,
} from './town.js';
export {
  addRig,
  listRigs,
  writeRigHomes,
  tryReadRigConfig,
  type AddRigOptions,
  type RigSummary,
  type RigHomeFacts,
} from './rigs.js';
export {
  removeRig,
  rigClones,
  unsavedWork,
  type RemoveRigOptions,
  type RemovedRig,
} from './rig-remove.js';
export {
  townStatus,
  agentStatus,
  rigAgents,
  type TownStatus,
  type RigStatus,
  type AgentStatus,
  type AgentRef,
} from './status.js';
export {
  primeContext,
  townDirectory,
  type PrimeContext,
  type PrimeOptions,
  type PrimeRole,
} from './prime.js';
export { runDoctor } from './doctor.js';
export { WORKSPACE_CHECKS } from './doctor-workspace.js';
export { RIG_CHECKS } from './doctor-rig.js';
export { rigFacts } from './doctor-rig-facts.js';
export { staleLockReason } from './doctor-locks.js';
export type * from './doctor-types.js';
export { agentSession, recordedSession } from './agent-session.js';
export { ensureSatelliteRig, type SatelliteRigOptions } from './satellite.js';
