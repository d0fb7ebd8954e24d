/**
 * The beads record, in beads' own words. An issue is kept as the exact JSON object of its
 * issues.jsonl line (unknown fields included); the typed fields below are the ones we read.
 */

export const BUILTIN_STATUSES = [
  'open',
  'in_progress',
  'blocked',
  'closed',
  'tombstone',
  'pinned',
] as const;

export const BUILTIN_ISSUE_TYPES = [
  'bug',
  'feature',
  'task',
  'epic',
  'chore',
  'message',
  'merge-request',
  'molecule',
] as const;

export const BUILTIN_DEP_TYPES = ['blocks', 'parent-child', 'related', 'discovered-from'] as const;

/** Statuses of a blocker that still blocks. */
export const BLOCKING_STATUSES = ['open', 'in_progress', 'blocked'] as const;

export const DEFAULT_PRIORITY = 2;
export const MAX_TITLE_LENGTH = 500;
export const MAX_DEP_TYPE_LENGTH = 50;
/** Transitive parent-child blocking stops at this depth. */
export const MAX_BLOCK_DEPTH = 50;
/** A tombstone wins merges for this long after deleted_at. */
export const TOMBSTONE_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export interface BeadDependency {
  issue_id: string;
  depends_on_id: string;
  type: string;
  created_at?: string;
  created_by?: string;
  metadata?: unknown;
  [field: string]: unknown;
}

export interface BeadComment {
  id?: number | string;
  author?: string;
  text?: string;
  created_at?: string;
  [field: string]: unknown;
}

export interface BeadIssue {
  id: string;
  title: string;
  status: string;
  priority: number;
  issue_type: string;
  created_at: string;
  updated_at: string;
  description?: string;
  design?: string;
  acceptance_criteria?: string;
  notes?: string;
  assignee?: string;
  estimated_minutes?: number;
  closed_at?: string;
  close_reason?: string;
  external_ref?: string;
  labels?: string[];
  dependencies?: BeadDependency[];
  comments?: BeadComment[];
  deleted_at?: string;
  deleted_by?: string;
  delete_reason?: string;
  original_type?: string;
  sender?: string;
  ephemeral?: boolean;
  pinned?: boolean;
  [field: string]: unknown;
}

/** Key order used when writing a line: beads' own field order, then any other field. */
export const FIELD_ORDER = [
  'id',
  'content_hash',
  'title',
  'description',
  'design',
  'acceptance_criteria',
  'notes',
  'status',
  'priority',
  'issue_type',
  'assignee',
  'estimated_minutes',
  'created_at',
  'updated_at',
  'closed_at',
  'close_reason',
  'external_ref',
  'sender',
  'ephemeral',
  'pinned',
  'labels',
  'dependencies',
  'comments',
  'deleted_at',
  'deleted_by',
  'delete_reason',
  'original_type',
] as const;

export type ReadySort = 'hybrid' | 'priority' | 'oldest';

export interface IssueFilter {
  /** A status, or 'all' (tombstones included). Default: everything but tombstones. */
  status?: string;
  assignee?: string;
  issueType?: string;
  label?: string;
  priority?: number;
  limit?: number;
}

export interface ReadyOptions {
  limit?: number;
  assignee?: string;
  issueType?: string;
  priority?: number;
  sort?: ReadySort;
  /** Force the whole-database CTE (tests compare it with the per-candidate walk). */
  strategy?: 'walk' | 'cte';
}

/** An RFC 3339 timestamp with fractional seconds and offset (UTC). */
export function nowStamp(): string {
  return new Date().toISOString();
}
