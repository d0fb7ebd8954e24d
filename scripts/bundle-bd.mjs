// Bundle the `bd` command into one file (dist/cli/bd.js) after tsc: bd's startup is on every
// agent's hot path, and one ESM file loads faster than ~25 modules (commander included).
// better-sqlite3 stays external (native addon). Run by `npm run build`.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'cli', 'bd.js');
await build({
  entryPoints: [join(root, 'cli', 'bd.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3'],
  sourcemap: true,
  allowOverwrite: true,
  logLevel: 'warning',
  // commander is CommonJS: give the ESM bundle a require().
  banner: {
    js: "import { createRequire as __bdCreateRequire } from 'node:module'; const require = __bdCreateRequire(import.meta.url);",
  },
});
chmodSync(outfile, 0o755);
