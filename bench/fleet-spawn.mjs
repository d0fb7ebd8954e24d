// Spawn on another machine (issue "Work across machines", Speed): `gt spawn` of a polecat on a
// machine that does not home its rig vs on the rig's home, same repo, through one coordinator over
// two real node agent processes (dist/node-agent/main.js; dist/bench/fleet-sim.js). The remote
// spawn claims on the home, checks the origin from the target (answer reused for 5 minutes),
// makes the rig's satellite and clones from origin; the home's clones from its refinery clone
// (--local). Both start the same echo agent and deliver the prompt. Reported: whole spawn median
// on each, the clone part of each (SpawnResponse.clone_ms), and remote - local beyond the clone
// (goal: ≤ 50 ms).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BD,
  GT,
  ROOT,
  git,
  installTown,
  median,
  sized,
  startNodeAgent,
  stopNodeAgents,
  writeResult,
} from './lib.mjs';

const SIM = join(ROOT, 'dist', 'bench', 'fleet-sim.js');
const ECHO = join(ROOT, 'test', 'agents', 'echo-agent.mjs');
const RUNS = sized(6, 1);
const FILES = sized(500, 10);

const { coordinatorOver } = await import(SIM);
const base = mkdtempSync(join(tmpdir(), 'gt-bench-fspawn-'));
const children = [];

async function machine(name) {
  const town = installTown(join(base, name));
  const preset = {
    command: [process.execPath, ECHO, join(base, `${name}-echo.jsonl`)],
    ready_pattern: '^> $',
    ready_timeout_ms: 20_000,
  };
  writeFileSync(join(town, 'config', 'agents.json'), JSON.stringify({ presets: { echo: preset } }));
  const agent = await startNodeAgent(name, town);
  children.push(agent);
  return agent;
}

function repo() {
  const seed = join(base, 'seed');
  mkdirSync(seed, { recursive: true });
  git(seed, 'init', '-q', '-b', 'main');
  for (let i = 0; i < FILES; i++) {
    const dir = join(seed, 'src', `m${i % 20}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.ts`), `export const v${i} = ${i};\n`);
  }
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'seed');
  git(base, 'clone', '-q', '--bare', seed, join(base, 'origin.git'));
  return join(base, 'origin.git');
}

try {
  const [home, b] = await Promise.all(['home', 'b'].map(machine));
  const env = { ...process.env, GT_TOWN: home.town };
  const added = spawnSync(process.execPath, [GT, 'rig', 'add', 'app', repo()], {
    env,
    encoding: 'utf8',
  });
  if (added.status !== 0) throw new Error(`gt rig add: ${added.stderr}`);
  const bdEnv = { ...env, BEADS_DIR: join(home.town, 'app', '.beads') };
  const issues = Array.from({ length: 2 * RUNS }, (_, i) => {
    const r = spawnSync(process.execPath, [BD, 'create', `issue ${i}`, '--json'], {
      env: bdEnv,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`bd create: ${r.stderr}`);
    return JSON.parse(r.stdout).id;
  });
  const sim = await coordinatorOver(home.town, { home: home.socket, b: b.socket }, 60_000);
  try {
    const remote = [];
    const local = [];
    for (let k = 0; k < RUNS; k++)
      for (const [machine, into, issue] of [
        ['b', remote, issues[2 * k]],
        ['local', local, issues[2 * k + 1]],
      ]) {
        const t0 = performance.now();
        const r = await sim.client.spawn({ rig: 'app', issue, machine, agent: 'echo', name: '' });
        into.push({ ms: performance.now() - t0, cloneMs: r.cloneMs });
        await sim.client.killSession({ address: `${machine}:${r.address}` });
      }
    const m = (xs, f) => median(xs.map(f));
    const result = {
      runs: RUNS,
      files: FILES,
      remote_spawn_ms: m(remote, (x) => x.ms),
      local_spawn_ms: m(local, (x) => x.ms),
      remote_clone_ms: m(remote, (x) => x.cloneMs),
      local_clone_ms: m(local, (x) => x.cloneMs),
      remote_beyond_clone_ms: m(remote, (x) => x.ms - x.cloneMs),
      local_beyond_clone_ms: m(local, (x) => x.ms - x.cloneMs),
    };
    result.extra_beyond_clone_ms = result.remote_beyond_clone_ms - result.local_beyond_clone_ms;
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `spawn on another machine ${result.remote_spawn_ms.toFixed(0)} ms vs on the home ${result.local_spawn_ms.toFixed(0)} ms; beyond the clone +${result.extra_beyond_clone_ms.toFixed(0)} ms`,
    );
    console.log(`written: ${writeResult('fleet-spawn', result)}`);
  } finally {
    await sim.close();
  }
} finally {
  await stopNodeAgents(children);
  for (const { town } of children)
    spawnSync('tmux', ['-S', join(town, 'run', 'tmux.sock'), 'kill-server'], { stdio: 'ignore' });
  if (existsSync(base)) rmSync(base, { recursive: true, force: true });
}
