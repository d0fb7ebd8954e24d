// bd create / update / close / reopen / delete / show.
import type { Command } from 'commander';
import { context, withStore, type GlobalFlags } from './context.js';
import {
  claimIssue,
  closeIssues,
  createIssue,
  deleteIssues,
  reopenIssues,
  updateIssue,
  type BeadIssue,
  type DepSpec,
  type UpdateIssueOptions,
} from './lib.js';
import { issueDetail, issueLine, out, printJson } from './output.js';

export const collect = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
];

function parseDeps(items: string[]): DepSpec[] {
  return items.map((item) => {
    const colon = item.lastIndexOf(':');
    return colon > 0
      ? { type: item.slice(0, colon), id: item.slice(colon + 1) }
      : { type: 'blocks', id: item };
  });
}

function flags(cmd: Command): GlobalFlags & Record<string, unknown> {
  return cmd.optsWithGlobals();
}

function printIssues(json: boolean, issues: BeadIssue[], verb: string): void {
  if (json) printJson(issues);
  else for (const issue of issues) out(`✓ ${verb} ${issueLine(issue)}`);
}

function registerCreateCommand(program: Command): void {
  program
    .command('create')
    .description('create an issue')
    .argument('<title...>', 'title')
    .option('-d, --description <text>', 'description')
    .option('--design <text>', 'design notes')
    .option('--acceptance <text>', 'acceptance criteria')
    .option('--notes <text>', 'notes')
    .option('-t, --type <type>', 'issue type', 'task')
    .option('-p, --priority <priority>', 'priority 0-4 or P0-P4', '2')
    .option('-a, --assignee <name>', 'assignee')
    .option('-l, --labels <labels>', 'comma-separated labels', collect)
    .option('--deps <deps>', 'dependencies: [type:]id,...', collect)
    .option('--parent <id>', 'parent epic (makes a child id <parent>.<n>)')
    .option('--id <id>', 'explicit id')
    .option('--external-ref <ref>', 'external reference')
    .option('--silent', 'print only the new id')
    .action((titleWords: string[], _opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const issue = withStore(ctx, (store) =>
        createIssue(store, {
          title: titleWords.join(' '),
          description: o.description as string | undefined,
          design: o.design as string | undefined,
          acceptanceCriteria: o.acceptance as string | undefined,
          notes: o.notes as string | undefined,
          issueType: o.type as string,
          priority: o.priority as string,
          assignee: o.assignee as string | undefined,
          labels: (o.labels as string[] | undefined) ?? [],
          deps: parseDeps((o.deps as string[] | undefined) ?? []),
          parent: o.parent as string | undefined,
          id: o.id as string | undefined,
          externalRef: o.externalRef as string | undefined,
        }),
      );
      if (o.silent === true) out(issue.id);
      else if (ctx.json) printJson(issue);
      else out(`✓ Created issue: ${issue.id}\n  ${issueLine(issue)}`);
    });
}

function registerUpdateCommand(program: Command): void {
  program
    .command('update')
    .description('update issues (or --claim one atomically)')
    .argument('<ids...>', 'issue ids')
    .option('-s, --status <status>', 'new status')
    .option('-a, --assignee <name>', 'assignee ("" to clear)')
    .option('-p, --priority <priority>', 'priority 0-4 or P0-P4')
    .option('--title <title>', 'new title')
    .option('-t, --type <type>', 'new issue type')
    .option('-d, --description <text>', 'new description')
    .option('--design <text>', 'design notes')
    .option('--acceptance <text>', 'acceptance criteria')
    .option('--notes <text>', 'notes')
    .option('--external-ref <ref>', 'external reference')
    .option('--add-label <labels>', 'labels to add', collect)
    .option('--remove-label <labels>', 'labels to remove', collect)
    .option('--claim', 'atomically take the issue: assignee = you, status in_progress')
    .action((ids: string[], _opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const changes: UpdateIssueOptions = {
        status: o.status as string | undefined,
        assignee: o.assignee as string | undefined,
        priority: o.priority as string | undefined,
        title: o.title as string | undefined,
        issueType: o.type as string | undefined,
        description: o.description as string | undefined,
        design: o.design as string | undefined,
        acceptanceCriteria: o.acceptance as string | undefined,
        notes: o.notes as string | undefined,
        externalRef: o.externalRef as string | undefined,
        addLabels: o.addLabel as string[] | undefined,
        removeLabels: o.removeLabel as string[] | undefined,
      };
      const issues = withStore(ctx, (store) =>
        ids.map((id) => {
          const claimed = o.claim === true ? claimIssue(store, id) : undefined;
          const hasChanges = Object.values(changes).some((v) => v !== undefined);
          if (claimed !== undefined && !hasChanges) return claimed;
          return updateIssue(store, id, changes);
        }),
      );
      printIssues(ctx.json, issues, o.claim === true ? 'Claimed' : 'Updated');
    });
}

function registerCloseCommand(program: Command): void {
  program
    .command('close')
    .description('close issues')
    .argument('<ids...>', 'issue ids')
    .option('-r, --reason <reason>', 'close reason', 'Closed')
    .action((ids: string[], _opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const issues = withStore(ctx, (store) => closeIssues(store, ids, o.reason as string));
      printIssues(ctx.json, issues, 'Closed');
    });
}

function registerReopenCommand(program: Command): void {
  program
    .command('reopen')
    .description('reopen closed issues')
    .argument('<ids...>', 'issue ids')
    .action((ids: string[], _opts, cmd: Command) => {
      const ctx = context(flags(cmd));
      printIssues(
        ctx.json,
        withStore(ctx, (store) => reopenIssues(store, ids)),
        'Reopened',
      );
    });
}

function registerDeleteCommand(program: Command): void {
  program
    .command('delete')
    .description('delete issues (they become tombstones)')
    .argument('<ids...>', 'issue ids')
    .option('-r, --reason <reason>', 'why', 'deleted')
    .option('--force', 'accepted for compatibility')
    .action((ids: string[], _opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const issues = withStore(ctx, (store) => deleteIssues(store, ids, o.reason as string));
      printIssues(ctx.json, issues, 'Deleted');
    });
}

function registerShowCommand(program: Command): void {
  program
    .command('show')
    .description('show issues')
    .argument('<ids...>', 'issue ids')
    .action((ids: string[], _opts, cmd: Command) => {
      const ctx = context(flags(cmd));
      const issues = withStore(ctx, (store) => ids.map((id) => store.requireIssue(id)));
      if (ctx.json) printJson(issues);
      else out(issues.map(issueDetail).join('\n\n'));
    });
}

export function registerIssueCommands(program: Command): void {
  registerCreateCommand(program);
  registerUpdateCommand(program);
  registerCloseCommand(program);
  registerReopenCommand(program);
  registerDeleteCommand(program);
  registerShowCommand(program);
}
