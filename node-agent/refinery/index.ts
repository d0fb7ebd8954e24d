// Public surface of the Refinery: the per-rig MergeQueue and its processing.
export * from './queue.js';
export * from './overlap.js';
export { processRig, type ProcessOptions, type ProcessedEntry } from './refinery.js';
export { listQueue, retryEntry, type QueueListing } from './listing.js';
export { MERGE_QUEUE_FILES_CHECK, STUCK_MERGE_CHECK } from './doctor-check.js';
