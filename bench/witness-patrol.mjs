// Witness patrol cost with N working polecats (default 20): each has a git clone, a state.json
// and a live tmux session on the town's socket (running `sleep`: a silent agent). Measures
// `gt witness patrol <rig> --once` as a user runs it: wall time, the patrol's own CPU inside
// the process (cpu_ms of the report), the CPU of the git/tmux children the patrol ran
// (children_cpu_ms of the report: the agent's cutime+cstime), their sum (the patrol's CPU in
// all, what `gt up` pays per patrol; target <= 50 ms), and the whole gt process with its
// children (/proc/self/stat cutime+cstime of this bench process around each run, node start-up
// included). The floor, measured in the same run on the same (maybe loaded) machine: one bare
// tmux call plus one git status in a polecat's clone, the least a patrol could spawn.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GT, git, median, sized, writeResult } from './lib.mjs';

const N = Number(process.env.POLECATS ?? sized(20, 2));
const RUNS = Number(process.env.RUNS ?? sized(7, 1));
const base = mkdtempSync(join(tmpdir(), 'gt-bench-witness-'));
const town = join(base, 'town');
const env = { ...process.env, GT_TOWN: town };
const gt = (...args) => execFileSync(process.execPath, [GT, ...args], { env, encoding: 'utf8' });
const sock = join(town, 'run', 'tmux.sock');

function childCpuMs() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // cutime + cstime, 100 Hz ticks
}

try {
  const repo = join(base, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  for (let i = 0; i < 200; i++) writeFileSync(join(repo, `f${i}.txt`), `${i}\n`);
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'init');
  gt('install', town, '--name', 'bench');
  gt('rig', 'add', 'alpha', repo, '--prefix', 'al');
  const cfg = join(town, 'alpha', 'config.json');
  const config = JSON.parse(readFileSync(cfg, 'utf8'));
  writeFileSync(cfg, JSON.stringify({ ...config, witness: { nudge_interval_ms: 3_600_000 } }));
  const now = new Date().toISOString();
  for (let i = 0; i < N; i++) {
    const name = `P${i}`;
    const home = join(town, 'alpha', 'polecats', name);
    execFileSync('git', ['clone', '-q', '--local', join(town, 'alpha', 'refinery', 'rig'), home]);
    const session = `gt-alpha-${name}`;
    writeFileSync(
      join(home, 'state.json'),
      JSON.stringify({
        version: 1,
        role: 'polecat',
        state: 'working',
        issue: `al-${i}`,
        session,
        epoch: i + 1,
        updated_at: now,
        last_activity: now,
      }),
    );
    execFileSync('tmux', ['-S', sock, 'new-session', '-d', '-s', session, 'sleep 3600']);
  }
  /** CPU of one bare tmux call + one git status (averaged over 5, for the 10 ms ticks). */
  const floorCpuMs = () => {
    const c0 = childCpuMs();
    for (let k = 0; k < 5; k++) {
      spawnSync('tmux', ['-S', sock, 'list-panes', '-a', '-F', '#{session_name} #{pane_pid}']);
      spawnSync('git', ['--no-optional-locks', 'status', '--porcelain'], {
        cwd: join(town, 'alpha', 'polecats', 'P0'),
      });
    }
    return (childCpuMs() - c0) / 5;
  };
  const rows = [];
  let first;
  for (let i = 0; i < RUNS + 1; i++) {
    const floor = floorCpuMs();
    const c0 = childCpuMs();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [GT, 'witness', 'patrol', 'alpha', '--once', '--json'], {
      env,
      encoding: 'utf8',
    });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(r.stderr);
    const report = JSON.parse(r.stdout);
    const row = {
      wallMs,
      patrolCpuMs: report.cpu_ms,
      childrenCpuMs: report.children_cpu_ms ?? 0,
      patrolTotalCpuMs: report.cpu_ms + (report.children_cpu_ms ?? 0),
      totalCpuMs: childCpuMs() - c0,
      floorCpuMs: floor,
      actions: report.actions.length,
    };
    if (i === 0) first = row;
    else rows.push(row);
  }
  const result = {
    polecats: N,
    runs: RUNS,
    wall_ms_median: median(rows.map((r) => r.wallMs)),
    patrol_cpu_ms_median: median(rows.map((r) => r.patrolCpuMs)),
    patrol_children_cpu_ms_median: median(rows.map((r) => r.childrenCpuMs)),
    patrol_children_cpu_ms_mean: rows.reduce((a, r) => a + r.childrenCpuMs, 0) / rows.length,
    patrol_total_cpu_ms_median: median(rows.map((r) => r.patrolTotalCpuMs)),
    first_patrol_total_cpu_ms: first.patrolTotalCpuMs,
    floor_cpu_ms_median: median(rows.map((r) => r.floorCpuMs)),
    total_cpu_ms_median: median(rows.map((r) => r.totalCpuMs)),
    total_cpu_ms_per_polecat: median(rows.map((r) => r.totalCpuMs)) / N,
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`written: ${writeResult('witness-patrol', result)}`);
} finally {
  spawnSync('tmux', ['-S', sock, 'kill-server']);
  rmSync(base, { recursive: true, force: true });
}
