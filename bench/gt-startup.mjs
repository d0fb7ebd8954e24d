// gt start-up: `gt --version` and `gt status --json` (embedded, town with 3 rigs) against the
// floor `node -e 0`. Targets: --version within 1.5x, status within 3x.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GT, git, printTable, runOnce, sized, timeProcess, writeResult } from './lib.mjs';

const RUNS = sized(21, 1);
const RIGS = sized(['alpha', 'beta', 'gamma'], ['alpha']);

const base = mkdtempSync(join(tmpdir(), 'gt-bench-'));
try {
  const town = join(base, 'town');
  const seed = join(base, 'seed');
  const bare = join(base, 'origin.git');
  git(base, 'init', '-q', '--bare', '-b', 'main', bare);
  git(base, 'init', '-q', '-b', 'main', seed);
  git(seed, 'commit', '-q', '--allow-empty', '-m', 'init');
  git(seed, 'push', '-q', bare, 'main');
  runOnce([process.execPath, GT, 'install', town]);
  for (const rig of RIGS) runOnce([process.execPath, GT, '--town', town, 'rig', 'add', rig, bare]);

  const floor = timeProcess([process.execPath, '-e', '0'], { runs: RUNS });
  const version = timeProcess([process.execPath, GT, '--version'], { runs: RUNS });
  const status = timeProcess([process.execPath, GT, '--town', town, 'status', '--json'], {
    runs: RUNS,
  });
  const rows = [
    { command: 'node -e 0 (floor)', median_ms: floor.median.toFixed(1), ratio: '1.00', target: '' },
    {
      command: 'gt --version',
      median_ms: version.median.toFixed(1),
      ratio: (version.median / floor.median).toFixed(2),
      target: '<= 1.5',
    },
    {
      command: `gt status --json (${RIGS.length} rigs, embedded)`,
      median_ms: status.median.toFixed(1),
      ratio: (status.median / floor.median).toFixed(2),
      target: '<= 3.0',
    },
  ];
  printTable(rows);
  console.log(`written: ${writeResult('gt-startup', { floor, version, status })}`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
