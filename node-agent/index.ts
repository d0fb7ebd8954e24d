// Public surface of node-agent/.
export * from './mail/index.js';
export * from './tmux/index.js';
export * from './agents/index.js';
