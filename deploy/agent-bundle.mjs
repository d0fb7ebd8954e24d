// The node agent as shipped to a remote machine by `gt machine provision`: one ESM file (no
// code splitting, so it needs nothing else of dist/) plus the few node_modules files it loads at
// run time (better-sqlite3's JS and native addon, and the two tiny modules that locate it), and
// a manifest with every file's sha256 and size (checked after upload). The Node.js runtime itself
// is the coordinator's own binary, added at provisioning time.
//
//   node deploy/agent-bundle.mjs [--out DIR] [--version V] [--protocol N]
//
// The options build another agent than this checkout's (an older version or protocol, into a
// directory of its own): upgrade tests ship one with GT_AGENT_BUNDLE=DIR.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bdEntryBuild } from './bd-entry.mjs';

const root = join(import.meta.dirname, '..');
// Imported by deploy/bundle.mjs (no options) or run on its own with the options above.
const { values: opts } = parseArgs({
  options: {
    out: { type: 'string' },
    version: { type: 'string' },
    protocol: { type: 'string' },
  },
  strict: false,
});
const out = typeof opts.out === 'string' ? resolve(opts.out) : join(root, 'dist', 'agent-bundle');
// The one source of the version (proto/version.ts): there is no package.json on the remote machine.
const version =
  typeof opts.version === 'string'
    ? opts.version
    : JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const define = { __GT_VERSION__: JSON.stringify(version) };
if (typeof opts.protocol === 'string')
  define.__GT_PROTOCOL_VERSION__ = String(Number(opts.protocol));
rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { agent: 'node-agent/main.ts' },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['better-sqlite3'],
  define,
  banner: {
    js: "import { createRequire as __gtCreateRequire } from 'node:module'; const require = __gtCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
// gt and bd ride along: sessions on the machine run plain `gt` and `bd` (the agent puts wrappers
// for them on the sessions' PATH). Code-split like dist/, so that ssh2 (not shipped: a worker
// machine has no ssh machines of its own) is imported only by the chunk that needs it; bd.mjs is
// one file of its own that loads bd-full.mjs only to run on a local DB (deploy/bd-entry.mjs).
const banner = {
  js: "import { createRequire as __gtCreateRequire } from 'node:module'; const require = __gtCreateRequire(import.meta.url);",
};
await build(bdEntryBuild({ root, outfile: join(out, 'bd.mjs'), ext: '.mjs', define, banner }));
await build({
  absWorkingDir: root,
  entryPoints: { gt: 'cli/gt.ts', 'bd-full': 'cli/bd-full.ts', 'bd-run': 'cli/bd-run.ts' },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['better-sqlite3', 'ssh2', 'cpu-features', 'testcontainers'],
  chunkNames: 'chunks/[name]-[hash]',
  define,
  banner: {
    js: "import { createRequire as __gtCreateRequire } from 'node:module'; const require = __gtCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
const copy = [
  'better-sqlite3/package.json',
  'better-sqlite3/lib',
  'better-sqlite3/build/Release/better_sqlite3.node',
  'bindings/package.json',
  'bindings/bindings.js',
  'file-uri-to-path/package.json',
  'file-uri-to-path/index.js',
];
for (const rel of copy) {
  const to = join(out, 'node_modules', rel);
  mkdirSync(join(to, '..'), { recursive: true });
  cpSync(join(root, 'node_modules', rel), to, { recursive: true });
}
// ESM resolution of the bare `better-sqlite3` import needs a package.json scope: the bundle is ESM.
writeFileSync(join(out, 'package.json'), '{"type":"module","private":true}\n');

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
  );
}
const files = walk(out)
  .map((f) => relative(out, f))
  .sort()
  .map((path) => ({
    path,
    size: statSync(join(out, path)).size,
    sha256: createHash('sha256')
      .update(readFileSync(join(out, path)))
      .digest('hex'),
  }));
const hash = createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 12);
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify({ version, hash, files }, null, 2)}\n`);
