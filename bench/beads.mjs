#!/usr/bin/env node
// Beads speed figures (issue 3): 10,000 issues with 5,000 dependency edges.
// Whole-process wall time (median) of `bd ready|create|update|list` against `node -e 0`, and the
// same operations in-process through the library. Run after the build:
//   npm run build && node bench/beads.mjs [--runs 15] [--quick]
// The library is the beads module of the node agent, bundled here for the bench (dist/ holds only
// the executables), next to dist/ so its externals resolve from node_modules.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { BD as bdPath, ROOT as root, sized, writeResult } from './lib.mjs';

const libFile = join(root, 'dist', 'bench', 'beads-lib.js');
await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'node-agent', 'beads', 'index.ts')],
  outfile: libFile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3'],
  banner: {
    js: "import { createRequire as __gtCreateRequire } from 'node:module'; const require = __gtCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
const lib = await import(pathToFileURL(libFile).href);
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : sized(15, 1);
const ISSUES = sized(10_000, 200);
const EDGES = sized(5_000, 100);

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function fixture() {
  let seed = 7;
  const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const t0 = Date.UTC(2025, 0, 1);
  const recs = [];
  for (let n = 0; n < ISSUES; n++) {
    const at = new Date(t0 + n * 60_000).toISOString();
    const status = rand() < 0.3 ? 'closed' : rand() < 0.1 ? 'in_progress' : 'open';
    const rec = {
      id: `bn-${n.toString(36).padStart(5, '0')}`,
      title: `issue ${n} about the refinery and the witness`,
      description: 'x'.repeat(200),
      status,
      priority: n % 5,
      issue_type: ['task', 'bug', 'feature'][n % 3],
      created_at: at,
      updated_at: at,
      labels: n % 4 === 0 ? ['backend'] : undefined,
    };
    if (status === 'closed') Object.assign(rec, { closed_at: at, close_reason: 'Closed' });
    recs.push(rec);
  }
  for (let e = 0; e < EDGES; e++) {
    const from = 1 + Math.floor(rand() * (ISSUES - 1));
    const to = Math.floor(rand() * from); // always to an older issue: no cycles
    const rec = recs[from];
    rec.dependencies ??= [];
    const type = e % 5 === 0 ? 'parent-child' : 'blocks';
    if (rec.dependencies.some((d) => d.depends_on_id === recs[to].id)) continue;
    rec.dependencies.push({
      issue_id: rec.id,
      depends_on_id: recs[to].id,
      type,
      created_at: rec.created_at,
      created_by: 'bench',
    });
  }
  return recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

function timeInProcess(fn, runs = RUNS * 4) {
  fn(0); // warm
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn(i + 1);
    times.push(performance.now() - t);
  }
  return median(times);
}

function timeProcess(args, cwd, env) {
  const times = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const t = performance.now();
    const r = spawnSync(
      process.execPath,
      args.map((a) => a.replace('{i}', String(i))),
      { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 },
    );
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
    if (i > 0) times.push(ms);
  }
  return median(times);
}

const dir = mkdtempSync(join(tmpdir(), 'bd-bench-'));
try {
  const beadsDir = join(dir, '.beads');
  lib.initBeads({ beadsDir, prefix: 'bn' });
  const store = lib.openBeads(beadsDir, 'bench');
  let t = performance.now();
  store.importJsonlText(fixture(), 'bench.jsonl');
  const importMs = performance.now() - t;
  const target = `bn-${Math.min(1296, ISSUES - 1)
    .toString(36)
    .padStart(5, '0')}`; // bn-00100 at full size
  const { loadavg, cpus } = await import('node:os');
  const results = {
    loadavg_at_start: loadavg(),
    cpus: cpus().length,
    issues: ISSUES,
    edges: EDGES,
    runs: RUNS,
    node: process.version,
    import_ms: importMs,
    in_process_ms: {},
    whole_process_ms: {},
  };
  const ip = results.in_process_ms;
  ip.ready = timeInProcess(() => lib.readyIssues(store, { limit: 10 }));
  ip.ready_all = timeInProcess(() => lib.readyIssues(store, { limit: 0 }), RUNS);
  ip.list_50 = timeInProcess(() => lib.listIssues(store, { limit: 50 }));
  ip.list_all = timeInProcess(() => lib.listIssues(store, {}), RUNS);
  ip.create_with_export = timeInProcess(
    (i) => lib.createIssue(store, { title: `bench create ${i}` }),
    RUNS * 2,
  );
  ip.update_with_export = timeInProcess(
    (i) => lib.updateIssue(store, target, { notes: `n${i}` }),
    RUNS * 2,
  );
  store.close();
  // The node agent's mode: writes return at once, one export follows (debounced, flushed on close).
  const agentStore = lib.openBeads(beadsDir, 'bench', { exportDebounceMs: 60_000 });
  ip.create_debounced = timeInProcess((i) =>
    lib.createIssue(agentStore, { title: `bench create nx ${i}` }),
  );
  ip.update_debounced = timeInProcess((i) =>
    lib.updateIssue(agentStore, target, { notes: `nx${i}` }),
  );
  ip.export = timeInProcess(() => agentStore.exportJsonl(), RUNS);
  agentStore.close();

  const env = { ...process.env, BEADS_DIR: beadsDir, BD_ACTOR: 'bench' };
  const wp = results.whole_process_ms;
  wp.node_floor = timeProcess(['-e', '0'], dir, env);
  wp.ready = timeProcess([bdPath, 'ready'], dir, env);
  wp.ready_json = timeProcess([bdPath, 'ready', '--json'], dir, env);
  wp.list_50 = timeProcess([bdPath, 'list', '-n', '50'], dir, env);
  wp.list_all_json = timeProcess([bdPath, 'list', '--json'], dir, env);
  wp.create = timeProcess([bdPath, 'create', 'process create {i}', '--silent'], dir, env);
  wp.update = timeProcess([bdPath, 'update', target, '--notes', 'p{i}'], dir, env);
  wp.show = timeProcess([bdPath, 'show', target], dir, env);
  results.ready_vs_floor = wp.ready / wp.node_floor;

  const rows = [
    ...Object.entries(ip).map(([k, v]) => ['in-process', k, v]),
    ...Object.entries(wp).map(([k, v]) => ['whole-process', k, v]),
  ];
  process.stdout.write(
    `beads bench: ${ISSUES} issues, ${EDGES} edges, median of ${RUNS}+ runs, ${process.version}\n`,
  );
  process.stdout.write(`${'mode'.padEnd(14)} ${'operation'.padEnd(20)} ms\n`);
  for (const [mode, op, ms] of rows)
    process.stdout.write(`${mode.padEnd(14)} ${op.padEnd(20)} ${ms.toFixed(2)}\n`);
  process.stdout.write(`whole-process ready / node -e 0 = ${results.ready_vs_floor.toFixed(2)}x\n`);
  process.stdout.write(`written: ${writeResult('beads', results)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
