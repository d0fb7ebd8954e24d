#!/usr/bin/env node
// `bd`: Gas Town's beads issue tracker (compatible with beads' .beads/ files). The only place
// that reads argv/env and sets the exit code. Exit codes: 0 ok, 1 failure, 2 usage error.
import { existsSync } from 'node:fs';
import { CommanderError } from 'commander';
import { setContext } from './bd/context.js';
import { isGtError } from './bd/lib.js';
import { err } from './bd/output.js';
import { buildProgram } from './bd/program.js';
import { USAGE_CODES } from './errors.js';

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const actor = process.env.BD_ACTOR || process.env.USER || 'unknown';
  try {
    // `bd --rig NAME …` runs on the rig's home machine, wherever that is.
    if (argv.slice(2).some((a) => a === '--rig' || a.startsWith('--rig='))) {
      const { takeRig, relayBeads } = await import('./bd/relay.js');
      const { rig, rest } = takeRig(argv.slice(2));
      if (rig !== undefined) return await relayBeads({ rig, args: rest, actor });
    }
    // A session on a worker machine whose rig is homed elsewhere: no DB here, so the whole
    // command runs on the rig's home machine, through this machine's node agent.
    const { BEADS_DIR: beadsDir, GT_RIG: rig, GT_AGENT_SOCKET: relay } = process.env;
    if (beadsDir && rig && relay && !existsSync(beadsDir)) {
      const { relayBeads } = await import('./bd/relay.js');
      return await relayBeads({ rig, args: argv.slice(2), actor });
    }
  } catch (error) {
    return reportError(error, debug);
  }
  setContext({
    cwd: process.cwd(),
    beadsDirEnv: process.env.BEADS_DIR,
    actor,
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
    return reportError(error, debug);
  }
}

function reportError(error: unknown, debug: boolean): number {
  if (isGtError(error)) {
    err(`error: ${error.message}`);
    if (error.hint !== undefined) err(`hint: ${error.hint}`);
    if (debug && error.stack !== undefined) err(error.stack);
    return USAGE_CODES.has(error.code) ? 2 : 1;
  }
  err(`error: internal error, please report: ${(error as Error)?.message ?? String(error)}`);
  if (debug) err((error as Error)?.stack ?? '');
  else err('hint: run again with --debug for the stack trace');
  return 1;
}

// `bd list | head` closes our stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
