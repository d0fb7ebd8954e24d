#!/usr/bin/env node
// `bd`: Gas Town's beads issue tracker (compatible with beads' .beads/ files). The only place
// that reads argv/env and sets the exit code. Exit codes: 0 ok, 1 failure, 2 usage error.
import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './bd/admin-commands.js';
import { setContext } from './bd/context.js';
import { registerIssueCommands } from './bd/issue-commands.js';
import { GT_VERSION, isGtError } from './bd/lib.js';
import { err } from './bd/output.js';
import { registerQueryCommands } from './bd/query-commands.js';

function buildProgram(): Command {
  const program = new Command('bd')
    .description('beads: issue tracking for agents (Gas Town edition)')
    .version(`${GT_VERSION} (beads v0.30 files)`, '-V, --version')
    .option('--json', 'machine-readable output')
    .option('--db <path>', 'the .beads directory (or beads.db) to use')
    .option('--actor <name>', 'who is acting (default $BD_ACTOR, else $USER)')
    .option('--debug', 'show stack traces of internal errors')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  registerAdminCommands(program);
  registerIssueCommands(program);
  registerQueryCommands(program);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  setContext({
    cwd: process.cwd(),
    beadsDirEnv: process.env.BEADS_DIR,
    actor: process.env.BD_ACTOR || process.env.USER || 'unknown',
    json: false,
  });
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      return 2;
    }
    if (isGtError(error)) {
      err(`error: ${error.message}`);
      if (error.hint !== undefined) err(`hint: ${error.hint}`);
      if (debug && error.stack !== undefined) err(error.stack);
      return error.code === 'GT_USAGE' ? 2 : 1;
    }
    err(`error: internal error, please report: ${(error as Error)?.message ?? String(error)}`);
    if (debug) err((error as Error)?.stack ?? '');
    else err('hint: run again with --debug for the stack trace');
    return 1;
  }
}

// `bd list | head` closes our stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
