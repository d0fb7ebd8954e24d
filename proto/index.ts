// Public surface of proto/: the wire contract both sides share — generated messages and service
// descriptors, the transport-neutral RPC types, the in-process transport, the address grammar,
// errors and durable files. The grpc-js adapter is loaded lazily through loadGrpc().
export * from './errors.js';
export * from './address.js';
export * from './polecat-names.js';
export * from './durable-file.js';
export * from './unix-socket.js';
export * from './rpc.js';
export * from './in-process.js';
export * from './version.js';
export * from './gen/gastown/v1/common_pb.js';
export * from './gen/gastown/v1/node_agent_pb.js';
export * from './gen/gastown/v1/coordinator_pb.js';
export * from './gen/gastown/v1/sessions_pb.js';
export * from './gen/gastown/v1/refinery_pb.js';
export * from './gen/gastown/v1/witness_pb.js';
export * from './gen/gastown/v1/dashboard_pb.js';

export type GrpcAdapter = typeof import('./grpc-adapter.js');
/** Load the grpc-js adapter (and grpc-js itself) on first use. */
export function loadGrpc(): Promise<GrpcAdapter> {
  return import('./grpc-adapter.js');
}
export type { MessageInitShape, MessageShape } from '@bufbuild/protobuf';
export { create, toJson, fromJson } from '@bufbuild/protobuf';
export * from './mail-id.js';
export * from './terminal-text.js';
export * from './relay.js';
export * from './merge-request.js';
export * from './status-error.js';
export * from './unix-unary.js';
export * from './run-beads-wire.js';
