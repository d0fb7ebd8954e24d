#!/usr/bin/env node
// `bd`: Gas Town's beads issue tracker (compatible with beads' .beads/ files). The only place
// that reads argv/env and sets the exit code. Exit codes: 0 ok, 1 failure, 2 usage error.
// A relayed bd (`--rig`, or a session whose rig's DB is on another machine) loads only the relay
// (bd/relay.ts); bd's commands, the beads library and SQLite (bd-full.ts) load only when needed.
import { relayBeads, relayTarget } from './bd/relay.js';
import { reportError } from './bd/report.js';

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const actor = process.env.BD_ACTOR || process.env.USER || 'unknown';
  try {
    // `bd --rig NAME …` runs on the rig's home machine, wherever that is; so does every bd
    // command in a session on a worker machine whose rig is homed elsewhere (no DB here).
    const relay = relayTarget(argv.slice(2), process.env);
    if (relay !== undefined) return await relayBeads({ ...relay, actor });
  } catch (error) {
    return reportError(error, debug);
  }
  const { runCommand } = await import('./bd-full.js');
  return runCommand(argv, {
    cwd: process.cwd(),
    beadsDirEnv: process.env.BEADS_DIR,
    actor,
    debug,
  });
}

// `bd list | head` closes our stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
