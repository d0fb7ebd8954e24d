/**
 * Dependencies: `issue_id` depends on `depends_on_id`. `bd dep add A B` refuses self edges,
 * missing ids and cycles (naming the cycle's path); `bd dep tree` walks what an issue waits on.
 */
import { GtError } from '../../proto/index.js';
import { invalidArgument } from './errors.js';
import type { BeadsStore } from './store.js';
import { nowStamp, type BeadDependency, type BeadIssue } from './types.js';
import { checkDepType } from './validate.js';

/** Types whose edges order work, and so may not form a cycle. */
const ORDERING_TYPES = new Set(['blocks', 'parent-child']);

function findPath(store: BeadsStore, from: string, to: string): string[] | undefined {
  const next = store.sql(
    "SELECT depends_on_id FROM dependencies WHERE issue_id = ? AND type IN ('blocks', 'parent-child')",
  );
  const cameFrom = new Map<string, string>([[from, from]]);
  const queue = [from];
  while (queue.length > 0) {
    const current = queue.shift() as string;
    if (current === to) {
      const path = [to];
      let step = to;
      while (step !== from) {
        step = cameFrom.get(step) as string;
        path.unshift(step);
      }
      return path;
    }
    for (const target of next.pluck().all(current) as string[]) {
      if (!cameFrom.has(target)) {
        cameFrom.set(target, current);
        queue.push(target);
      }
    }
  }
  return undefined;
}

export interface DepChange {
  issue: BeadIssue;
  dependency: BeadDependency;
}

/** `bd dep add A B [-t TYPE]`: A depends on B. */
export function addDependency(
  store: BeadsStore,
  issueInput: string,
  targetInput: string,
  type = 'blocks',
): DepChange {
  const depType = checkDepType(type);
  return store.write(() => {
    const issue = store.requireIssue(issueInput);
    const target = store.requireIssue(targetInput);
    if (issue.id === target.id) {
      throw invalidArgument(`${issue.id} cannot depend on itself`, 'name two different issues');
    }
    const deps = issue.dependencies ?? [];
    const existing = deps.find((d) => d.depends_on_id === target.id && d.type === depType);
    if (existing !== undefined) return { issue, dependency: existing };
    if (ORDERING_TYPES.has(depType)) {
      const path = findPath(store, target.id, issue.id);
      if (path !== undefined) {
        throw new GtError(
          'GT_CONFLICT',
          `adding ${issue.id} → ${target.id} would make a cycle: ${[issue.id, ...path].join(' → ')}`,
          { hint: 'remove one edge of that cycle first (`bd dep remove A B`)', details: { path } },
        );
      }
    }
    const at = nowStamp();
    const dependency: BeadDependency = {
      issue_id: issue.id,
      depends_on_id: target.id,
      type: depType,
      created_at: at,
      created_by: store.actor,
    };
    issue.dependencies = [...deps, dependency];
    issue.updated_at = at;
    store.putIssue(issue);
    return { issue, dependency };
  });
}

/** `bd dep remove A B`: removes every edge from A to B. */
export function removeDependency(
  store: BeadsStore,
  issueInput: string,
  targetInput: string,
): BeadIssue {
  return store.write(() => {
    const issue = store.requireIssue(issueInput);
    const targetId = store.hasIssue(targetInput) ? targetInput : store.resolveId(targetInput);
    const deps = issue.dependencies ?? [];
    const kept = deps.filter((d) => d.depends_on_id !== targetId);
    if (kept.length === deps.length) {
      throw new GtError('GT_NOT_FOUND', `${issue.id} does not depend on ${targetId}`, {
        hint: `see \`bd show ${issue.id}\` for its dependencies`,
      });
    }
    if (kept.length > 0) issue.dependencies = kept;
    else delete issue.dependencies;
    issue.updated_at = nowStamp();
    store.putIssue(issue);
    return issue;
  });
}

export interface DepTreeNode {
  id: string;
  title: string;
  status: string;
  priority: number;
  type: string;
  depth: number;
  /** Set when the target is not in this database (never blocks). */
  missing?: boolean;
  /** Already shown higher up (a diamond), not expanded again. */
  repeated?: boolean;
  children: DepTreeNode[];
}

/** `bd dep tree ID`: what ID depends on, depth-first, up to maxDepth. */
export function depTree(store: BeadsStore, input: string, maxDepth = 50): DepTreeNode {
  const root = store.requireIssue(input);
  const seen = new Set<string>();
  const build = (issue: BeadIssue, type: string, depth: number): DepTreeNode => {
    const node: DepTreeNode = {
      id: issue.id,
      title: issue.title,
      status: issue.status,
      priority: issue.priority,
      type,
      depth,
      children: [],
    };
    if (seen.has(issue.id)) return { ...node, repeated: true };
    seen.add(issue.id);
    if (depth >= maxDepth) return node;
    for (const dep of issue.dependencies ?? []) {
      const target = store.getIssue(dep.depends_on_id);
      if (target === undefined) {
        node.children.push({
          id: dep.depends_on_id,
          title: '',
          status: 'missing',
          priority: 0,
          type: dep.type,
          depth: depth + 1,
          missing: true,
          children: [],
        });
      } else {
        node.children.push(build(target, dep.type, depth + 1));
      }
    }
    return node;
  };
  return build(root, 'root', 0);
}
