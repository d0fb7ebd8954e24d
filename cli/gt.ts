#!/usr/bin/env node
// gt: the Gas Town CLI. Kept tiny so `gt --version` loads nothing else; every command module is
// imported lazily by program.ts when it runs.
import { readFileSync } from 'node:fs';

// `gt doctor | head` closes our stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  process.stdout.write(`gt ${pkg.version}\n`);
} else {
  const { runGt } = await import('./program.js');
  process.exitCode = await runGt(process.argv);
}
