// The Witness: per-rig patrol of polecats (progress, nudges, escalations, done cleanup).
export * from './thresholds.js';
export * from './patrol-record.js';
export * from './notices.js';
export * from './done-signal.js';
export * from './patrol.js';
export * from './doctor-checks.js';
export * from './rework.js';
