// The tmux driver: a dedicated server per town, sessions named from addresses, reliable typing.
export * from './names.js';
export * from './tmux-server.js';
export * from './typing.js';
export * from './tmux-types.js';
