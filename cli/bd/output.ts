// bd's output module: the only place that writes to stdout/stderr (JSON or human tables).
import type { BeadIssue } from '../../node-agent/index.js';

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

function assigneeOf(issue: BeadIssue): string {
  return typeof issue.assignee === 'string' && issue.assignee !== '' ? ` @${issue.assignee}` : '';
}

/** One line per issue: `id [P1] [type] status - title @assignee`. */
export function issueLine(issue: BeadIssue): string {
  return `${issue.id} [P${issue.priority}] [${issue.issue_type}] ${issue.status} - ${issue.title}${assigneeOf(issue)}`;
}

/** A table with padded columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
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
  const lines = [`${issue.id}: ${issue.title}`];
  lines.push(`Status: ${issue.status}   Priority: P${issue.priority}   Type: ${issue.issue_type}`);
  if (typeof issue.assignee === 'string') lines.push(`Assignee: ${issue.assignee}`);
  lines.push(`Created: ${issue.created_at}   Updated: ${issue.updated_at}`);
  if (issue.closed_at !== undefined)
    lines.push(`Closed: ${issue.closed_at} (${issue.close_reason ?? ''})`);
  if (issue.deleted_at !== undefined)
    lines.push(`Deleted: ${issue.deleted_at} by ${issue.deleted_by ?? '?'}`);
  if (issue.labels !== undefined && issue.labels.length > 0)
    lines.push(`Labels: ${issue.labels.join(', ')}`);
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
