// Spawn: time from `gt spawn` to the agent's session running with its prompt delivered, on a
// ~2,000-file repo, against the floor of the same raw operations (git clone --local of the
// refinery's clone + tmux new-session of the same agent) measured in the same run.
// The waits for the agent to be ready and the typing of the prompt are reported separately.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BD, GT, git, median, printTable, sized, writeResult } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? sized(8, 1));
const FILES = sized(2000, 20);
const base = realpathSync(mkdtempSync(join(tmpdir(), 'gt-bench-spawn-')));
const town = join(base, 'town');
const sock = join(town, 'run', 'tmux.sock');
const env = { ...process.env, GT_TOWN: town, NO_COLOR: '1' };
const ECHO = join(import.meta.dirname, '..', 'test', 'agents', 'echo-agent.mjs');

function makeRepo() {
  const seed = join(base, 'seed');
  mkdirSync(seed, { recursive: true });
  git(seed, 'init', '-q', '-b', 'main');
  for (let i = 0; i < FILES; i++) {
    const dir = join(seed, 'src', `m${i % 40}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.ts`), `export const v${i} = ${i};\n// ${'x'.repeat(200)}\n`);
  }
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'seed');
  git(base, 'clone', '-q', '--bare', seed, join(base, 'origin.git'));
  return join(base, 'origin.git');
}

function run(argv, extraEnv = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env: { ...env, ...extraEnv }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

try {
  const origin = makeRepo();
  run([process.execPath, GT, 'install', town, '--name', 'bench']);
  run([process.execPath, GT, 'rig', 'add', 'alpha', origin]);
  const agent = [process.execPath, ECHO, join(base, 'echo.jsonl')];
  writeFileSync(
    join(town, 'config', 'agents.json'),
    JSON.stringify({ presets: { echo: { command: agent, ready_pattern: '^> $' } } }),
  );
  const refinery = join(town, 'alpha', 'refinery', 'rig');
  const rows = [];
  for (let i = 0; i < RUNS; i++) {
    const created = run([process.execPath, BD, 'create', `bench ${i}`, '--json'], {
      BEADS_DIR: join(town, 'alpha', '.beads'),
    });
    const id = JSON.parse(created.stdout).id;
    const spawned = run([
      process.execPath,
      GT,
      'spawn',
      'alpha',
      '--issue',
      id,
      '--agent',
      'echo',
      '--json',
    ]);
    const r = JSON.parse(spawned.stdout);
    // Floor: the same raw operations, same repo, same agent program.
    const dest = join(base, 'floor', String(i));
    mkdirSync(join(base, 'floor'), { recursive: true });
    const t0 = process.hrtime.bigint();
    execFileSync('git', ['clone', '-q', '--local', refinery, dest]);
    execFileSync('tmux', [
      '-S',
      sock,
      'new-session',
      '-d',
      '-s',
      `floor-${i}`,
      '-c',
      dest,
      '--',
      ...agent.slice(0, 2),
      join(base, `floor-${i}.jsonl`),
    ]);
    const floorMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const waits = r.ready_wait_ms + r.deliver_ms;
    rows.push({
      wall_ms: spawned.ms,
      in_agent_total_ms: r.total_ms,
      waits_ms: waits,
      ready_wait_ms: r.ready_wait_ms,
      typing_ms: r.deliver_ms,
      clone_ms: r.clone_ms,
      start_ms: r.start_ms,
      wall_minus_waits_ms: spawned.ms - waits,
      floor_ms: floorMs,
    });
  }
  const med = (k) => Math.round(median(rows.map((r) => r[k])) * 10) / 10;
  const summary = Object.fromEntries(Object.keys(rows[0]).map((k) => [k, med(k)]));
  summary.ratio_to_floor = Math.round((summary.wall_minus_waits_ms / summary.floor_ms) * 100) / 100;
  summary.ratio_in_agent_excl_waits =
    Math.round(((summary.in_agent_total_ms - summary.waits_ms) / summary.floor_ms) * 100) / 100;
  printTable([summary]);
  const file = writeResult('spawn', { files: FILES, runs: RUNS, median: summary, samples: rows });
  console.log(`written ${file}`);
} finally {
  try {
    execFileSync('tmux', ['-S', sock, 'kill-server'], { stdio: 'ignore' });
  } catch {
    /* none */
  }
  rmSync(base, { recursive: true, force: true });
}
