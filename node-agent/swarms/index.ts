// Swarms: the Mayor's dispatch (start/cancel), the written record, status and completion.
export * from './swarm-record.js';
export * from './dispatch.js';
export * from './swarm-status.js';
