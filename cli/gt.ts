#!/usr/bin/env node
// gt: the Gas Town CLI. Kept tiny so `gt --version` loads nothing else; every command module is
// imported lazily by program.ts when it runs.

/** package.json's version, injected by the bundler (deploy/bundle.mjs); absent when run from source. */
declare const __GT_VERSION__: string | undefined;

// `gt doctor | head` closes our stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// From source (no bundler), proto/version.ts reads it from package.json.
const version =
  typeof __GT_VERSION__ === 'string'
    ? __GT_VERSION__
    : (await import('../proto/index.js')).GT_VERSION;
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`gt ${version}\n`);
} else {
  const { runGt } = await import('./program.js');
  process.exitCode = await runGt(process.argv, version);
}
