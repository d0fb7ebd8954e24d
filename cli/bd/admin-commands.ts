// bd init / import / export / sync / config.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { context, withStore, withStoreAsync, type GlobalFlags } from './context.js';
import { GtError, initBeads, serializeJsonl, syncBeads } from './lib.js';
import { writeOut } from './io.js';
import { out, printJson, table } from './output.js';

function flags(cmd: Command): GlobalFlags & Record<string, unknown> {
  return cmd.optsWithGlobals();
}

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new GtError('GT_NOT_FOUND', `cannot read ${file}: ${(err as Error).message}`, {
      hint: 'give the path of an issues.jsonl file',
      cause: err,
    });
  }
}

function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create .beads/ (database, issues.jsonl, config) here, or in BEADS_DIR')
    .option('--prefix <prefix>', 'issue id prefix (default: this directory’s name)')
    .option('--force', 'rebuild an existing database')
    .action((_opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const beadsDir =
        ctx.beadsDirEnv !== undefined && ctx.beadsDirEnv !== ''
          ? resolve(ctx.cwd, ctx.beadsDirEnv)
          : join(ctx.cwd, '.beads');
      const prefix = (o.prefix as string | undefined) ?? basename(ctx.cwd);
      const result = initBeads({ beadsDir, prefix, force: o.force === true, actor: ctx.actor });
      if (ctx.json) printJson(result);
      else {
        out(`✓ Initialized beads in ${result.beadsDir} (prefix ${result.prefix})`);
        if (result.imported !== undefined)
          out(`  imported ${result.issues} issues from issues.jsonl`);
      }
    });
}

function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('import an issues.jsonl (by content and updated_at; tombstones stay dead)')
    .argument('[file]', 'the JSONL file ("-" for stdin)')
    .option('-i, --input <file>', 'the JSONL file (beads’ spelling)')
    .action((file: string | undefined, _opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const path = file ?? (o.input as string | undefined);
      if (path === undefined) {
        throw new GtError('GT_USAGE', 'bd import needs a file', {
          hint: 'bd import path/to/issues.jsonl',
        });
      }
      const text = readInput(path);
      const result = withStore(ctx, (store) => store.importJsonlText(text, path));
      if (ctx.json) printJson(result);
      else
        out(
          `✓ Imported ${path}: ${result.created} created, ${result.updated} updated, ${result.unchanged} unchanged, ${result.skipped} skipped`,
        );
    });
}

function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write issues.jsonl (or -o FILE, "-" for stdout)')
    .option('-o, --output <file>', 'where to write')
    .action((_opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const output = o.output as string | undefined;
      const result = withStore(ctx, (store) => {
        const exported = store.exportJsonl();
        if (output === undefined) return exported;
        const text = serializeJsonl(store.allIssues());
        if (output === '-') writeOut(text);
        else writeFileSync(output, text);
        return { path: output, count: exported.count };
      });
      if (output === '-') return;
      if (ctx.json) printJson(result);
      else out(`✓ Exported ${result.count} issues to ${result.path}`);
    });
}

function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description('export, commit .beads/, pull + merge issues.jsonl, import, push')
    .option('-m, --message <text>', 'commit message')
    .option('--no-push', 'do not push')
    .action(async (_opts, cmd: Command) => {
      const o = flags(cmd);
      const ctx = context(o);
      const result = await withStoreAsync(ctx, (store) =>
        syncBeads(store, {
          ...(o.message === undefined ? {} : { message: o.message as string }),
          noPush: o.push === false,
        }),
      );
      if (ctx.json) printJson(result);
      else {
        out(
          `✓ Synced: ${result.committed ? 'committed' : 'nothing to commit'}, ${result.pulled ? 'merged upstream' : 'up to date'}, ${result.pushed ? 'pushed' : 'not pushed'}`,
        );
        if (result.conflicts.length > 0)
          out(`  merged by field rules: ${result.conflicts.join(', ')}`);
      }
    });
}

function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description('beads settings (status.custom, types.custom, …)');
  config
    .command('set')
    .argument('<key>')
    .argument('<value>')
    .action((key: string, value: string, _opts, cmd: Command) => {
      const ctx = context(flags(cmd));
      withStore(ctx, (store) => store.write(() => store.setConfig(key, value)));
      if (ctx.json) printJson({ key, value });
      else out(`✓ ${key} = ${value}`);
    });
  config
    .command('get')
    .argument('<key>')
    .action((key: string, _opts, cmd: Command) => {
      const ctx = context(flags(cmd));
      const value = withStore(ctx, (store) => store.getConfig(key));
      if (ctx.json) printJson({ key, value: value ?? null });
      else out(value ?? '');
    });
  config.command('list').action((_opts, cmd: Command) => {
    const ctx = context(flags(cmd));
    const rows = withStore(ctx, (store) =>
      store.sql("SELECT key, value FROM config WHERE key != 'jsonl_stamp' ORDER BY key").all(),
    ) as { key: string; value: string }[];
    if (ctx.json) printJson(Object.fromEntries(rows.map((r) => [r.key, r.value])));
    else
      out(
        table(
          ['KEY', 'VALUE'],
          rows.map((r) => [r.key, r.value]),
        ),
      );
  });
}

export function registerAdminCommands(program: Command): void {
  registerInitCommand(program);
  registerImportCommand(program);
  registerExportCommand(program);
  registerSyncCommand(program);
  registerConfigCommand(program);
}
