// bd's command tree (commander), built without running it: cli/bd.ts runs it, and the test that
// checks every `bd …` command named in hints, templates and docs reads it.
import { Command } from 'commander';
import { terminalText } from '../output.js';
import { registerAdminCommands } from './admin-commands.js';
import { writeErr, writeOut } from './io.js';
import { registerIssueCommands } from './issue-commands.js';
import { GT_VERSION } from './lib.js';
import { registerQueryCommands } from './query-commands.js';

export function buildProgram(): Command {
  const program = new Command('bd')
    .description('beads: issue tracking for agents (Gas Town edition)')
    .version(`${GT_VERSION} (beads v0.30 files)`, '-V, --version')
    .option('--json', 'machine-readable output')
    .option('--db <path>', 'the .beads directory (or beads.db) to use')
    .option('--actor <name>', 'who is acting (default $BD_ACTOR, else $USER)')
    .option('--rig <name>', "the rig's beads, on whichever machine homes the rig (via the town)")
    .option('--debug', 'show stack traces of internal errors')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => writeOut(text),
      writeErr: (text) => writeErr(terminalText(text)),
    });
  registerAdminCommands(program);
  registerIssueCommands(program);
  registerQueryCommands(program);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}
