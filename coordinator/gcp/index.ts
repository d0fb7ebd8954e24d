// gcp machines: the Compute API behind a small interface, and the gcp ConnectionFactory over the
// ssh path. Loaded lazily through coordinator/index.ts loadGcp(): only gcp commands and machines
// load the client.
export {
  createComputeApi,
  instanceResource,
  type CallOptions,
  type ComputeApi,
  type ComputeOptions,
  type GcpInstance,
  type InstanceRef,
  type InstanceSpec,
} from './compute.js';
export { gcpApiError, instanceStopped, noCredentials, operationFailed } from './errors.js';
export {
  GCP_SSH_PORT,
  asSshMachine,
  gcloudKnownHostsPath,
  gcpConnectionFactory,
  gcpLink,
  instanceRef,
  provisionGcpMachine,
  resolveInstance,
  type GcpFactoryOptions,
  type GcpMachine,
  type ResolvedInstance,
} from './machine.js';
export { waitForSshd } from './sshd.js';
export { ensureTownKey, publicKeyOf, townKeyPath, type TownKey } from './town-key.js';
