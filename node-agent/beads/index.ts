// Public surface of the beads library (issue tracking, compatible with beads' on-disk format):
// the node agent uses it in-process, the `bd` command (cli/bd.ts) is a thin shell over it.
export { initBeads, findBeadsDir, rigBeadsDir, beadsEnvFor } from './init.js';
export type { InitBeadsOptions, InitBeadsResult, FindBeadsDirOptions } from './init.js';
export { BeadsStore, DB_FILE, JSONL_FILE } from './store.js';
export { databaseProblem } from './db.js';
export type { OpenStoreOptions, ImportResult } from './store.js';
export {
  createIssue,
  updateIssue,
  claimIssue,
  closeIssues,
  reopenIssues,
  deleteIssues,
} from './issues.js';
export type { CreateIssueOptions, UpdateIssueOptions, DepSpec } from './issues.js';
export { addDependency, removeDependency, depTree } from './deps.js';
export type { DepChange, DepTreeNode } from './deps.js';
export { listIssues, readyIssues, blockedIssues, beadsStats } from './queries.js';
export type { BlockedIssue, BeadsStats } from './queries.js';
export { syncBeads } from './sync.js';
export type { SyncOptions, SyncResult } from './sync.js';
export { mergeIssues, mergeIssue } from './merge.js';
export type { MergeResult } from './merge.js';
export { parseJsonl, serializeJsonl, serializeIssue } from './jsonl.js';
export { parsePriority, PRIORITY_FORMS } from './errors.js';
export { checkStatus, checkIssueType } from './validate.js';
export { hashId, hashLengthFor, nextChildId, resolveIdAmong } from './ids.js';
export * from './types.js';

import { BeadsStore } from './store.js';

/** Open the store of a beads directory (e.g. the rig's `.beads/`, what BEADS_DIR names). */
export function openBeads(
  beadsDir: string,
  actor?: string,
  options: { exportDebounceMs?: number } = {},
): BeadsStore {
  return BeadsStore.open({ beadsDir, ...(actor === undefined ? {} : { actor }), ...options });
}
