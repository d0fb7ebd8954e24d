// bd's output module: the only place that writes to stdout/stderr (JSON or human tables). Human
// text goes through gt's terminal text rules (cli/output.ts): control characters from titles
// and descriptions are shown as visible escapes, table cells and titles stay on one line.
import type { BeadIssue } from '../../node-agent/index.js';
import { oneLine, printJson as printExactJson, terminalText } from '../output.js';
import { currentScope, writeErr, writeOut } from './io.js';

export { oneLine };

export function out(text: string): void {
  writeOut(terminalText(text.endsWith('\n') ? text : `${text}\n`));
}

export function err(text: string): void {
  writeErr(terminalText(text.endsWith('\n') ? text : `${text}\n`));
}

export function printJson(value: unknown): void {
  if (currentScope() === undefined) printExactJson(value);
  else writeOut(`${JSON.stringify(value, null, 2)}\n`);
}

function assigneeOf(issue: BeadIssue): string {
  return typeof issue.assignee === 'string' && issue.assignee !== ''
    ? ` @${oneLine(issue.assignee)}`
    : '';
}

/** One line per issue: `id [P1] [type] status - title @assignee`. */
export function issueLine(issue: BeadIssue): string {
  return `${issue.id} [P${issue.priority}] [${oneLine(issue.issue_type)}] ${issue.status} - ${oneLine(issue.title)}${assigneeOf(issue)}`;
}

/** A table with padded columns, one line per row whatever the cells hold (oneLine). */
export function table(headers: string[], rows: string[][]): string {
  const cells = rows.map((r) => r.map(oneLine));
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function issueTable(issues: readonly BeadIssue[]): string {
  return table(
    ['ID', 'PRI', 'TYPE', 'STATUS', 'ASSIGNEE', 'TITLE'],
    issues.map((i) => [
      i.id,
      `P${i.priority}`,
      i.issue_type,
      i.status,
      typeof i.assignee === 'string' ? i.assignee : '',
      i.title,
    ]),
  );
}

const SHOWN_TEXT = ['description', 'design', 'acceptance_criteria', 'notes'] as const;

export function issueDetail(issue: BeadIssue): string {
  const lines = [`${issue.id}: ${oneLine(issue.title)}`];
  lines.push(
    `Status: ${issue.status}   Priority: P${issue.priority}   Type: ${oneLine(issue.issue_type)}`,
  );
  if (typeof issue.assignee === 'string') lines.push(`Assignee: ${oneLine(issue.assignee)}`);
  lines.push(`Created: ${issue.created_at}   Updated: ${issue.updated_at}`);
  if (issue.closed_at !== undefined)
    lines.push(`Closed: ${issue.closed_at} (${oneLine(issue.close_reason ?? '')})`);
  if (issue.deleted_at !== undefined)
    lines.push(`Deleted: ${issue.deleted_at} by ${oneLine(issue.deleted_by ?? '?')}`);
  if (issue.labels !== undefined && issue.labels.length > 0)
    lines.push(`Labels: ${oneLine(issue.labels.join(', '))}`);
  for (const key of SHOWN_TEXT) {
    const text = issue[key];
    if (typeof text === 'string' && text !== '') lines.push('', `${key.replace('_', ' ')}:`, text);
  }
  const deps = issue.dependencies ?? [];
  if (deps.length > 0) {
    lines.push('', 'Depends on:');
    for (const d of deps) lines.push(`  → ${d.depends_on_id} (${d.type})`);
  }
  return lines.join('\n');
}
