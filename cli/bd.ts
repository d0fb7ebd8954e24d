#!/usr/bin/env node
// `bd`: Gas Town's beads issue tracker (compatible with beads' .beads/ files). The only place
// that reads argv/env and sets the exit code. Exit codes: 0 ok, 1 failure, 2 usage error.
import { existsSync } from 'node:fs';
import { reportError, runCommand } from './bd/run.js';

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
