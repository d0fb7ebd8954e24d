// bd list / ready / blocked / stats / dep add|remove|tree.
import { Option, type Command } from 'commander';
import { context, withStore, type GlobalFlags } from './context.js';
import {
  addDependency,
  beadsStats,
  blockedIssues,
  depTree,
  listIssues,
  parsePriority,
  readyIssues,
  removeDependency,
  type DepTreeNode,
  type ReadySort,
} from './lib.js';
import { issueLine, issueTable, oneLine, out, printJson, table } from './output.js';

function flags(cmd: Command): GlobalFlags & Record<string, unknown> {
  return cmd.optsWithGlobals();
}

function limitOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

function priorityOf(value: unknown): number | undefined {
  return value === undefined ? undefined : parsePriority(String(value));
}

function treeLines(node: DepTreeNode, indent = ''): string[] {
  const mark =
    node.missing === true
      ? ' (not in this database)'
      : node.repeated === true
        ? ' (see above)'
        : '';
  const head =
    node.depth === 0
      ? `${node.id} [P${node.priority}] ${node.status} - ${oneLine(node.title)}`
      : `${indent}└─ ${node.id} (${node.type}) ${node.status}${node.title === '' ? '' : ` - ${oneLine(node.title)}`}${mark}`;
  return [
    head,
    ...node.children.flatMap((c) => treeLines(c, node.depth === 0 ? '' : `${indent}   `)),
  ];
}

function registerListCommand(program: Command): void {
  program
    .command('list')
    .description('list issues (all but tombstones; priority, then newest)')
    .option('-s, --status <status>', 'only this status ("all" includes tombstones)')
    .option('-a, --assignee <name>', 'only this assignee')
    .option('-t, --type <type>', 'only this issue type')
    .option('-l, --label <label>', 'only issues with this label')
    .option('-p, --priority <priority>', 'only this priority')
    .option('-n, --limit <n>', 'at most n issues')
    .action((_opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const issues = withStore(ctx, (store) =>
        listIssues(store, {
          status: o.status as string | undefined,
          assignee: o.assignee as string | undefined,
          issueType: o.type as string | undefined,
          label: o.label as string | undefined,
          priority: priorityOf(o.priority),
          limit: limitOf(o.limit),
        }),
      );
      if (ctx.json) printJson(issues);
      else out(issues.length === 0 ? 'No issues.' : issueTable(issues));
    });
}

function registerReadyCommand(program: Command): void {
  program
    .command('ready')
    .description('issues ready to work on (open or in_progress, not blocked, not pinned)')
    .option('-n, --limit <n>', 'at most n issues (0 = all)', '10')
    .option('-a, --assignee <name>', 'only this assignee')
    .option('-t, --type <type>', 'only this issue type')
    .option('-p, --priority <priority>', 'only this priority')
    .addOption(
      new Option('--sort <policy>', 'sort policy')
        .choices(['hybrid', 'priority', 'oldest'])
        .default('hybrid'),
    )
    .action((_opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const issues = withStore(ctx, (store) =>
        readyIssues(store, {
          limit: limitOf(o.limit) ?? 10,
          assignee: o.assignee as string | undefined,
          issueType: o.type as string | undefined,
          priority: priorityOf(o.priority),
          sort: o.sort as ReadySort,
        }),
      );
      if (ctx.json) printJson(issues);
      else if (issues.length === 0) out('No ready work.');
      else out(issues.map((i, n) => `${n + 1}. ${issueLine(i)}`).join('\n'));
    });
}

function registerBlockedCommand(program: Command): void {
  program
    .command('blocked')
    .description('open issues that are blocked, and what blocks them')
    .action((_opts, cmd: Command) => {
      const ctx = context(flags(cmd));
      const blocked = withStore(ctx, (store) => blockedIssues(store));
      if (ctx.json) {
        printJson(
          blocked.map((b) => ({
            ...b.issue,
            blocked_by: b.blocked_by,
            ...(b.blocked_via_parent ? { blocked_via_parent: b.blocked_via_parent } : {}),
          })),
        );
      } else if (blocked.length === 0) out('No blocked issues.');
      else {
        out(
          table(
            ['ID', 'PRI', 'TITLE', 'BLOCKED BY'],
            blocked.map((b) => [
              b.issue.id,
              `P${b.issue.priority}`,
              b.issue.title,
              b.blocked_by.length > 0
                ? b.blocked_by.join(', ')
                : `parent ${b.blocked_via_parent ?? '?'}`,
            ]),
          ),
        );
      }
    });
}

function registerStatsCommand(program: Command): void {
  program
    .command('stats')
    .description('counts by status and type, ready and blocked')
    .action((_opts, cmd: Command) => {
      const ctx = context(flags(cmd));
      const stats = withStore(ctx, (store) => beadsStats(store));
      if (ctx.json) printJson(stats);
      else {
        const rows = Object.entries(stats.by_status).map(([k, v]) => [k, String(v)]);
        rows.push(
          ['ready', String(stats.ready)],
          ['blocked', String(stats.blocked)],
          ['total', String(stats.total)],
        );
        out(table(['STATUS', 'COUNT'], rows));
      }
    });
}

function registerDepCommand(program: Command): void {
  const dep = program.command('dep').description('dependencies between issues');
  dep
    .command('add')
    .description('A depends on B')
    .argument('<issue>', 'the issue that depends')
    .argument('<dependsOn>', 'the issue it depends on')
    .option('-t, --type <type>', 'blocks | parent-child | related | discovered-from | …', 'blocks')
    .action((a: string, b: string, _opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const change = withStore(ctx, (store) => addDependency(store, a, b, o.type as string));
      if (ctx.json) printJson(change.dependency);
      else
        out(
          `✓ ${change.issue.id} depends on ${change.dependency.depends_on_id} (${change.dependency.type})`,
        );
    });
  dep
    .command('remove')
    .description('remove the edge A → B')
    .argument('<issue>')
    .argument('<dependsOn>')
    .action((a: string, b: string, _opts, cmd: Command) => {
      const ctx = context(flags(cmd));
      const issue = withStore(ctx, (store) => removeDependency(store, a, b));
      if (ctx.json) printJson(issue);
      else out(`✓ removed ${issue.id} → ${b}`);
    });
  dep
    .command('tree')
    .description('what an issue waits on, as a tree')
    .argument('<issue>')
    .option('--max-depth <n>', 'depth limit', '50')
    .action((id: string, _opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const tree = withStore(ctx, (store) => depTree(store, id, limitOf(o.maxDepth) ?? 50));
      if (ctx.json) printJson(tree);
      else out(treeLines(tree).join('\n'));
    });
}

export function registerQueryCommands(program: Command): void {
  registerListCommand(program);
  registerReadyCommand(program);
  registerBlockedCommand(program);
  registerStatsCommand(program);
  registerDepCommand(program);
}
