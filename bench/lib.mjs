// Shared bench helpers: whole-process timing with medians, and result files.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export const ROOT = join(import.meta.dirname, '..');
/**
 * `--quick` (bench/run.mjs --quick, or one bench): tiny sizes and iteration counts, to prove every
 * benchmark runs. Its figures mean nothing, so they are printed but not written to bench/results.
 */
export const QUICK = process.argv.includes('--quick');
/** `full` normally, `quick` under --quick. */
export const sized = (full, quick) => (QUICK ? quick : full);
export const GT = join(ROOT, 'dist', 'cli', 'gt.js');
export const BD = join(ROOT, 'dist', 'cli', 'bd.js');

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median wall time (ms) of running argv[0] with argv[1..] `runs` times (after 2 warm-ups). */
export function timeProcess(argv, { runs = 15, env = process.env, cwd } = {}) {
  const times = [];
  const warmups = QUICK ? 0 : 2;
  for (let i = 0; i < runs + warmups; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (i >= warmups) times.push(ms);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times), runs };
}

export function git(cwd, ...args) {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'b',
      GIT_AUTHOR_EMAIL: 'b@b.invalid',
      GIT_COMMITTER_NAME: 'b',
      GIT_COMMITTER_EMAIL: 'b@b.invalid',
    },
  });
}

export function writeResult(name, data) {
  if (QUICK)
    return `(not written: --quick figures are not measurements) bench/results/${name}.json`;
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const file = join(ROOT, 'bench', 'results', `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ measured_at: new Date().toISOString(), node: process.version, ...data }, null, 2)}\n`,
  );
  return file;
}

export function printTable(rows) {
  const widths = Object.keys(rows[0]).map((k) =>
    Math.max(k.length, ...rows.map((r) => String(r[k]).length)),
  );
  const line = (vals) => vals.map((v, i) => String(v).padEnd(widths[i])).join('  ');
  console.log(line(Object.keys(rows[0])));
  for (const r of rows) console.log(line(Object.values(r)));
}

/** Run a command once (set-up steps); throws with its stderr when it fails. */
export function runOnce(argv, { env = process.env, cwd } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it is true; throws naming `what` after `ms`. */
export async function until(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** `gt install <town>`. */
export function installTown(town) {
  const r = spawnSync(process.execPath, [GT, 'install', town], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gt install ${town}: ${r.stderr}`);
  return town;
}

/**
 * A node agent process (dist/node-agent/main.js) on `town` as machine `name`, resolved once it
 * serves: { child, exited, town, socket }. Stop them with stopNodeAgents.
 */
export async function startNodeAgent(name, town) {
  const agent = join(ROOT, 'dist', 'node-agent', 'main.js');
  const child = spawn(process.execPath, [agent, '--town', town, '--machine', name], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d.toString()));
  const exited = new Promise((res) => child.on('exit', res));
  await until(`agent ${name} serving`, () => log.includes('node agent serving'));
  return { child, exited, town, socket: join(town, 'run', 'node-agent.sock') };
}

/** SIGTERM each agent, wait up to 5 s, then SIGKILL what is left. */
export async function stopNodeAgents(agents) {
  for (const { child } of agents) child.kill('SIGTERM');
  await Promise.race([Promise.all(agents.map((a) => a.exited)), sleep(5_000)]);
  for (const { child } of agents) if (child.exitCode === null) child.kill('SIGKILL');
}

/**
 * bench/machines-lib.ts bundled with esbuild and loaded: the test hosts (bare Debian containers)
 * and the coordinator's SSH pieces. Code-split like deploy/bundle.mjs: one file would run
 * protobuf's lazy module initialisers out of order.
 */
export async function loadMachinesLib() {
  const libDir = join(ROOT, 'dist', 'bench', 'machines');
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'bench', 'machines-lib.ts')],
    outdir: libDir,
    splitting: true,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['better-sqlite3', 'ssh2', 'cpu-features', 'testcontainers'],
    define: {
      __GT_VERSION__: JSON.stringify(
        JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
      ),
    },
    banner: {
      js: "import { createRequire as __gtCreateRequire } from 'node:module'; const require = __gtCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return import(pathToFileURL(join(libDir, 'machines-lib.js')).href);
}
