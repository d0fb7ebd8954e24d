/**
 * What bench/machines.mjs needs from the sources, bundled by it with esbuild (like beads.mjs):
 * the test hosts (bare Debian containers) and the coordinator's SSH pieces.
 */
export { Coordinator, NodeAgent, PROTOCOL_VERSION, loadGrpc } from '../proto/index.js';
export { docker, startTestHosts } from '../test/hosts/containers.js';
export { SshConnection } from '../coordinator/ssh/connection.js';
export { connectSshMachine, remoteLayout } from '../coordinator/ssh/machine.js';
export { findAgentBundle } from '../coordinator/ssh/provision.js';
export { provisionMachine } from '../coordinator/ssh/setup.js';
export { tarParts } from '../coordinator/ssh/upload.js';
