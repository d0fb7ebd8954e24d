// Build: bundle the four executables with esbuild (ESM, code-split so each command loads only
// what it needs). Bundling removes most of Node's per-module ESM resolution cost, which dominated
// CLI start-up (measured: ~190 ms of module loading for `gt status` from tsc's per-file output).
// Native modules stay external (better-sqlite3; ssh2's optional native bits).
import { build } from 'esbuild';
import { chmodSync, cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bdEntryBuild } from './bd-entry.mjs';

const root = join(import.meta.dirname, '..');
const outdir = join(root, 'dist');
// The one source of the version: package.json, injected as __GT_VERSION__ (proto/version.ts).
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
rmSync(outdir, { recursive: true, force: true });
// zod re-exports all of its ~60 message locales as `z.locales`; we never use them (errors are
// rewritten as `file: path: problem` in English), and they were ~40% of the start-up bundle.
// Resolve zod's locales index to a module that keeps only English.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: join(args.resolveDir, '..', 'locales', 'en.js') }
        : undefined,
    );
  },
};

const entries = {
  'cli/gt': 'cli/gt.ts',
  // bd's heavy half; bd.js itself is built on its own below (deploy/bd-entry.mjs).
  'cli/bd-full': 'cli/bd-full.ts',
  // bd's commands inside a node agent (RunBeads), without a process per call.
  'cli/bd-run': 'cli/bd-run.ts',
  'cli/gt-daemon': 'cli/gt-daemon.ts',
  'node-agent/main': 'node-agent/main.ts',
  // The simulated fleet of bench/fleet-scale.mjs (not shipped to machines: only the agent bundle is).
  'bench/fleet-sim': 'bench/fleet-sim.ts',
};
const banner = {
  js: "import { createRequire as __gtCreateRequire } from 'node:module'; const require = __gtCreateRequire(import.meta.url);",
};
const define = { __GT_VERSION__: JSON.stringify(version) };
await build({
  absWorkingDir: root,
  entryPoints: entries,
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Whitespace and syntax only (names kept for stack traces): V8 compiles less text at start-up.
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['better-sqlite3', 'ssh2', 'cpu-features', 'testcontainers'],
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner,
  define,
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
});
await build(
  bdEntryBuild({ root, outfile: join(outdir, 'cli', 'bd.js'), ext: '.js', define, banner }),
);
for (const entry of [...Object.keys(entries), 'cli/bd'])
  chmodSync(join(outdir, `${entry}.js`), 0o755);
// The dashboard page: plain HTML, JS and CSS that the daemon inlines into one response.
cpSync(join(root, 'coordinator', 'dashboard', 'page'), join(outdir, 'dashboard'), {
  recursive: true,
});
await import('./agent-bundle.mjs');
