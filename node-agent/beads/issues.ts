/**
 * Issue lifecycle in beads' words: create, update, claim, close, reopen, delete (tombstone).
 * Every function runs in one BEGIN IMMEDIATE transaction of the store, export included.
 */
import { GtError } from '../../proto/index.js';
import { invalidArgument, parsePriority } from './errors.js';
import { hashId, hashLengthFor, nextChildId } from './ids.js';
import type { BeadsStore } from './store.js';
import { nowStamp, type BeadDependency, type BeadIssue } from './types.js';
import { checkDepType, checkIssueType, checkStatus, checkTitle } from './validate.js';

export interface DepSpec {
  type: string;
  id: string;
}

export interface CreateIssueOptions {
  title: string;
  description?: string;
  design?: string;
  acceptanceCriteria?: string;
  notes?: string;
  issueType?: string;
  priority?: number | string;
  assignee?: string;
  labels?: string[];
  deps?: DepSpec[];
  parent?: string;
  id?: string;
  externalRef?: string;
}

function newId(store: BeadsStore, options: CreateIssueOptions, createdAt: string): string {
  const count = store.sql("SELECT count(*) FROM issues WHERE instr(id, '.') = 0").pluck().get();
  let length = hashLengthFor(Number(count));
  for (let nonce = 0; ; nonce++) {
    const id = hashId({
      prefix: store.prefix,
      title: options.title,
      description: options.description ?? '',
      actor: store.actor,
      createdAt,
      nonce,
      length,
    });
    if (!store.hasIssue(id)) return id;
    if (nonce % 10 === 9 && length < 8) length += 1;
  }
}

function childId(store: BeadsStore, parentId: string): string {
  const children = store
    .sql("SELECT id FROM issues WHERE id LIKE ? ESCAPE '\\'")
    .pluck()
    .all(`${parentId.replace(/[%_\\]/g, (c) => `\\${c}`)}.%`) as string[];
  return nextChildId(parentId, children);
}

function dependency(issueId: string, spec: DepSpec, actor: string, at: string): BeadDependency {
  return {
    issue_id: issueId,
    depends_on_id: spec.id,
    type: checkDepType(spec.type),
    created_at: at,
    created_by: actor,
  };
}

/** `bd create`: returns the new issue. */
export function createIssue(store: BeadsStore, options: CreateIssueOptions): BeadIssue {
  const title = checkTitle(options.title);
  const issueType = checkIssueType(store, options.issueType ?? 'task');
  const priority = options.priority === undefined ? 2 : parsePriority(options.priority);
  return store.write(() => {
    const at = nowStamp();
    const parentId = options.parent === undefined ? undefined : store.resolveId(options.parent);
    let id: string;
    if (options.id !== undefined) {
      id = options.id.trim();
      if (store.hasIssue(id)) {
        throw new GtError('GT_ALREADY_EXISTS', `issue ${id} already exists`, {
          hint: 'pick another --id or leave it out to get a generated one',
        });
      }
    } else {
      id = parentId === undefined ? newId(store, options, at) : childId(store, parentId);
    }
    const deps: BeadDependency[] = [];
    if (parentId !== undefined) {
      deps.push(dependency(id, { type: 'parent-child', id: parentId }, store.actor, at));
    }
    for (const spec of options.deps ?? []) {
      deps.push(dependency(id, { type: spec.type, id: store.resolveId(spec.id) }, store.actor, at));
    }
    const issue: BeadIssue = {
      id,
      title,
      status: 'open',
      priority,
      issue_type: issueType,
      created_at: at,
      updated_at: at,
    };
    setText(issue, 'description', options.description);
    setText(issue, 'design', options.design);
    setText(issue, 'acceptance_criteria', options.acceptanceCriteria);
    setText(issue, 'notes', options.notes);
    setText(issue, 'assignee', options.assignee);
    setText(issue, 'external_ref', options.externalRef);
    const labels = [...new Set((options.labels ?? []).map((l) => l.trim()).filter(Boolean))];
    if (labels.length > 0) issue.labels = labels.sort();
    if (deps.length > 0) issue.dependencies = deps;
    store.putIssue(issue);
    return issue;
  });
}

function setText(issue: BeadIssue, key: string, value: string | undefined): void {
  if (value === undefined) return;
  if (value === '') delete issue[key];
  else issue[key] = value;
}

export interface UpdateIssueOptions {
  status?: string;
  assignee?: string;
  priority?: number | string;
  title?: string;
  description?: string;
  design?: string;
  acceptanceCriteria?: string;
  notes?: string;
  issueType?: string;
  externalRef?: string;
  addLabels?: string[];
  removeLabels?: string[];
}

/** Apply a status change with beads' closed_at/close_reason rule. */
function applyStatus(issue: BeadIssue, status: string, at: string, reason?: string): void {
  issue.status = status;
  if (status === 'closed') {
    issue.closed_at = at;
    issue.close_reason = reason ?? 'Closed';
  } else {
    delete issue.closed_at;
    delete issue.close_reason;
  }
}

function applyUpdate(store: BeadsStore, issue: BeadIssue, options: UpdateIssueOptions): void {
  const at = nowStamp();
  if (options.status !== undefined) applyStatus(issue, checkStatus(store, options.status), at);
  if (options.priority !== undefined) issue.priority = parsePriority(options.priority);
  if (options.title !== undefined) issue.title = checkTitle(options.title);
  if (options.issueType !== undefined) issue.issue_type = checkIssueType(store, options.issueType);
  setText(issue, 'assignee', options.assignee);
  setText(issue, 'description', options.description);
  setText(issue, 'design', options.design);
  setText(issue, 'acceptance_criteria', options.acceptanceCriteria);
  setText(issue, 'notes', options.notes);
  setText(issue, 'external_ref', options.externalRef);
  if (options.addLabels !== undefined || options.removeLabels !== undefined) {
    const labels = new Set(issue.labels ?? []);
    for (const l of options.addLabels ?? []) if (l.trim() !== '') labels.add(l.trim());
    for (const l of options.removeLabels ?? []) labels.delete(l.trim());
    if (labels.size > 0) issue.labels = [...labels].sort();
    else delete issue.labels;
  }
  issue.updated_at = at;
}

/** `bd update ID ...`: returns the updated issue. */
export function updateIssue(store: BeadsStore, id: string, options: UpdateIssueOptions): BeadIssue {
  return store.write(() => {
    const issue = store.requireIssue(id);
    applyUpdate(store, issue, options);
    store.putIssue(issue);
    return issue;
  });
}

/**
 * `bd update ID --claim`: atomically set assignee + in_progress, only if the issue is open and
 * unassigned (or already claimed by this very actor). Losers get GT_CLAIMED.
 */
export function claimIssue(store: BeadsStore, id: string, actor = store.actor): BeadIssue {
  return store.write(() => {
    const issue = store.requireIssue(id);
    const holder = typeof issue.assignee === 'string' ? issue.assignee : '';
    if (holder === actor && issue.status === 'in_progress') return issue;
    if (holder !== '') {
      throw new GtError('GT_CLAIMED', `${issue.id} is already claimed by ${holder}`, {
        hint: 'pick another issue with `bd ready`',
        details: { id: issue.id, assignee: holder },
      });
    }
    if (issue.status !== 'open') {
      throw new GtError(
        'GT_CLAIMED',
        `${issue.id} cannot be claimed: its status is ${issue.status}`,
        {
          hint: 'only open, unassigned issues can be claimed; see `bd ready`',
          details: { id: issue.id, status: issue.status },
        },
      );
    }
    issue.assignee = actor;
    applyStatus(issue, 'in_progress', nowStamp());
    issue.updated_at = nowStamp();
    store.putIssue(issue);
    return issue;
  });
}

/** `bd close ID... [-r REASON]`. */
export function closeIssues(
  store: BeadsStore,
  ids: readonly string[],
  reason?: string,
): BeadIssue[] {
  return store.write(() =>
    ids.map((input) => {
      const issue = store.requireIssue(input);
      if (issue.status === 'tombstone') {
        throw invalidArgument(`${issue.id} is deleted`, 'a tombstone cannot be closed');
      }
      const at = nowStamp();
      applyStatus(issue, 'closed', at, reason === undefined || reason === '' ? 'Closed' : reason);
      issue.updated_at = at;
      store.putIssue(issue);
      return issue;
    }),
  );
}

/** `bd reopen ID...`: back to open, closed_at and close_reason cleared. */
export function reopenIssues(store: BeadsStore, ids: readonly string[]): BeadIssue[] {
  return store.write(() =>
    ids.map((input) => {
      const issue = store.requireIssue(input);
      const at = nowStamp();
      applyStatus(issue, 'open', at);
      issue.updated_at = at;
      store.putIssue(issue);
      return issue;
    }),
  );
}

/** `bd delete ID`: the issue becomes a tombstone (kept; import never resurrects it). */
export function deleteIssues(
  store: BeadsStore,
  ids: readonly string[],
  reason?: string,
): BeadIssue[] {
  return store.write(() =>
    ids.map((input) => {
      const issue = store.requireIssue(input);
      if (issue.status === 'tombstone') return issue;
      const at = nowStamp();
      issue.original_type = issue.issue_type;
      issue.status = 'tombstone';
      delete issue.closed_at;
      delete issue.close_reason;
      issue.deleted_at = at;
      issue.deleted_by = store.actor;
      issue.delete_reason = reason ?? 'deleted';
      issue.updated_at = at;
      store.putIssue(issue);
      return issue;
    }),
  );
}
