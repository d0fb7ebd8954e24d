// Public surface of node-agent/.
export * from './beads/index.js';
