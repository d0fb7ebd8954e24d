export * from './plugins.js';
