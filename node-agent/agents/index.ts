// Agent presets and prompt delivery.
export * from './presets.js';
export * from './delivery.js';
