// Runs every benchmark in bench/ (each prints a table and writes bench/results/<name>.json).
// `npm run bench` (builds first); one benchmark: `node bench/<name>.mjs`; some: `node bench/run.mjs
// mq spawn`. `--quick`: tiny sizes and iteration counts, figures printed but not written (proves
// every benchmark runs; test/e2e/bench.test.ts).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const quick = process.argv.includes('--quick');
const only = process.argv.slice(2).filter((a) => a !== '--quick');
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && f !== 'lib.mjs')
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f}`);
  const r = spawnSync(
    process.execPath,
    [join(import.meta.dirname, f), ...(quick ? ['--quick'] : [])],
    {
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) {
    failed++;
    console.log(`FAILED: ${f} exited ${r.status ?? r.signal}`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
