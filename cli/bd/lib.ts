// The bd command's view of the rest of Gas Town: the beads library and the error type.
export * from '../../node-agent/index.js';
export { GT_VERSION, GtError, isGtError } from '../../proto/index.js';
