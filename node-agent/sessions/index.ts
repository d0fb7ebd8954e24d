// Sessions and polecats: spawn, list, wake/sleep, inject/capture, done, handoff, kill/stop, crash
// and tmux-server checks.
export * from './agent-home.js';
export * from './launch.js';
export * from './clone.js';
export * from './polecat-pool.js';
export * from './spawn.js';
export * from './done.js';
export * from './handoff.js';
export * from './stop.js';
export * from './polecats.js';
export * from './crash-check.js';
export * from './claims.js';
export * from './mail-notice.js';
export * from './tmux-health.js';
export * from './tmux-check.js';
