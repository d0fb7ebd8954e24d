// Public surface of proto/: the wire contract both sides share.
export * from './errors.js';
export * from './address.js';
export * from './durable-file.js';
