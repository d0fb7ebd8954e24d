// Public surface of node-agent/.
export * from './town/index.js';
export * from './git.js';
