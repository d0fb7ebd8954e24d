// `bd` as one small file of its own, beside a code-split build that holds bd's heavy half
// (cli/bd-full.ts as the entry `bd-full`). A relayed bd (a session on a worker machine) loads
// only this file: its relay, the light unary client and bd's error report, tree-shaken on their
// own. Built inside the split build, it would share chunks with everything else (esbuild groups
// modules by the entries that reach them), and load protobuf's runtime and every descriptor.
import { join } from 'node:path';

/** esbuild options for bd as one file; `ext` is the split build's output extension. */
export function bdEntryBuild({ root, outfile, ext, define, banner }) {
  const full = join(root, 'cli', 'bd-full.ts');
  return {
    absWorkingDir: root,
    entryPoints: [join(root, 'cli', 'bd.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    define,
    banner,
    logLevel: 'warning',
    plugins: [
      {
        name: 'bd-full-external',
        setup(b) {
          b.onResolve({ filter: /bd-full\.js$/ }, (args) =>
            join(args.resolveDir, args.path).replace(/\.js$/, '.ts') === full
              ? { path: `./bd-full${ext}`, external: true }
              : undefined,
          );
        },
      },
    ],
  };
}
