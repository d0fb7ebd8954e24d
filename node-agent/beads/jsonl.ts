/**
 * issues.jsonl: parse with errors that name the line, and write lines in beads' field order
 * keeping every field we were given.
 */
import { GtError } from '../../proto/index.js';
import { FIELD_ORDER, type BeadIssue } from './types.js';

const CONFLICT_MARKER = /^(<{7}|={7}|>{7}|\|{7})( |$)/;

export interface ParsedJsonl {
  issues: BeadIssue[];
}

function lineError(file: string, line: number, problem: string, hint: string): GtError {
  return new GtError('GT_BEADS', `${file}:${line}: ${problem}`, {
    hint,
    details: { file, line },
  });
}

function checkRecord(value: unknown, file: string, line: number): BeadIssue {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw lineError(file, line, 'not a JSON object', 'each line must be one issue object');
  }
  const record = value as Record<string, unknown>;
  if (typeof record.id !== 'string' || record.id === '') {
    throw lineError(file, line, 'issue has no "id"', 'every issue line needs a string "id"');
  }
  if (typeof record.title !== 'string') {
    throw lineError(file, line, `issue ${record.id} has no "title"`, 'add a string "title"');
  }
  if ('priority' in record && !Number.isInteger(record.priority)) {
    throw lineError(file, line, `issue ${record.id}: priority must be an integer 0..4`, 'fix it');
  }
  if ('dependencies' in record && !Array.isArray(record.dependencies)) {
    throw lineError(file, line, `issue ${record.id}: dependencies must be a list`, 'fix it');
  }
  return record as BeadIssue;
}

/** Parse a whole issues.jsonl text. Throws GT_BEADS naming the first bad line. */
export function parseJsonl(text: string, file = 'issues.jsonl'): ParsedJsonl {
  const issues: BeadIssue[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;
    if (raw.trim() === '') continue;
    if (CONFLICT_MARKER.test(raw)) {
      throw lineError(
        file,
        lineNo,
        'git conflict marker in issues.jsonl',
        'resolve the merge (or `git checkout --theirs/--ours`) and run `bd import` again; `bd sync` merges without markers',
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      const truncated = raw.trimStart().startsWith('{') && !raw.trimEnd().endsWith('}');
      throw lineError(
        file,
        lineNo,
        truncated
          ? 'truncated JSON line (the record ends early)'
          : `not valid JSON (${(err as Error).message})`,
        'repair or remove that line; nothing was imported',
      );
    }
    issues.push(normalizeIssue(checkRecord(value, file, lineNo)));
  }
  return { issues };
}

/** Fill the defaults beads assumes for missing fields (status open, type task, priority 2). */
export function normalizeIssue(issue: BeadIssue): BeadIssue {
  if (typeof issue.status !== 'string' || issue.status === '') issue.status = 'open';
  if (typeof issue.issue_type !== 'string' || issue.issue_type === '') issue.issue_type = 'task';
  if (typeof issue.priority !== 'number') issue.priority = 2;
  if (typeof issue.created_at !== 'string') issue.created_at = new Date(0).toISOString();
  if (typeof issue.updated_at !== 'string') issue.updated_at = issue.created_at;
  return issue;
}

/** A record with beads' field order first, then unknown fields in their original order. */
export function orderedIssue(issue: BeadIssue): BeadIssue {
  const out: Record<string, unknown> = {};
  for (const key of FIELD_ORDER) {
    if (issue[key] !== undefined) out[key] = issue[key];
  }
  for (const [key, value] of Object.entries(issue)) {
    if (!(key in out) && value !== undefined) out[key] = value;
  }
  return out as BeadIssue;
}

export function serializeIssue(issue: BeadIssue): string {
  return JSON.stringify(orderedIssue(issue));
}

/** The whole file: one line per issue, sorted by id, trailing newline. */
export function serializeJsonl(issues: readonly BeadIssue[]): string {
  const sorted = [...issues].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return sorted.map((issue) => `${serializeIssue(issue)}\n`).join('');
}
