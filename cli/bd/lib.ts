// The bd command's view of the rest of Gas Town: the beads library and the error type.
export * from '../../node-agent/index.js';
export { GtError, isGtError } from '../../proto/index.js';
