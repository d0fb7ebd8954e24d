export * from './plugins.js';
export * from './plugin-session.js';
