// Faults, timed (issue "Faults and scale", Speed). Two real node agent processes
// (dist/node-agent/main.js, each on its own town and unix socket) under one coordinator that
// watches their heartbeats as `gt up` does (the same createCoordinator, MachineRegistry and
// Liveness, from dist/bench/fleet-sim.js), heartbeat every HEARTBEAT_MS:
//   pause_to_disconnected_ms   SIGSTOP machine b's agent (a hung host, like `docker pause`)
//                              until the coordinator shows it disconnected (the registry state
//                              `gt status` and `gt machine list` print), median of RUNS; goal:
//                              within TTL + grace (3 intervals here) plus one check
//   resume_to_connected_ms     SIGCONT until connected again; goal: within 2 heartbeats
//   outbox                     mail to b while its agent is down is queued; the agent comes back
//                              and `gt mail outbox --retry` delivers all of it, in order: drain
//                              rate (messages/s) against the live path's (the same mail sent
//                              while b answers, one `gt send` after another), measured in the
//                              same run
//   docker_pause               the same with a real host: one bare test-host container, provisioned
//                              over ssh by `gt machine add`, under `gt up` (heartbeat every
//                              DOCKER_HEARTBEAT_MS from config/town.json); `docker pause` until a
//                              status from the daemon (the GetStatus call `gt status` makes) says
//                              disconnected, `docker unpause` until it says connected; plus one
//                              whole `gt status --json` while the host is disconnected. Skipped,
//                              saying so, when no Docker engine answers
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GT, ROOT, loadMachinesLib, median, sized, writeResult } from './lib.mjs';

const SIM = join(ROOT, 'dist', 'bench', 'fleet-sim.js');
const AGENT = join(ROOT, 'dist', 'node-agent', 'main.js');
const HEARTBEAT_MS = 200;
const RUNS = sized(7, 1);
const MAILS = sized(200, 10);
const DOCKER_HEARTBEAT_MS = sized(500, 200);
const DOCKER_RUNS = sized(5, 1);

const { coordinatorOver } = await import(SIM);
const base = mkdtempSync(join(tmpdir(), 'gt-bench-faults-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const agents = new Map();
let faults;

async function until(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function install(name) {
  const town = join(base, name);
  const r = spawnSync(process.execPath, [GT, 'install', town], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gt install ${town}: ${r.stderr}`);
  return town;
}

/** Start machine `name`'s agent process on its town; resolves once its socket serves. */
async function startAgent(name, town) {
  const child = spawn(process.execPath, [AGENT, '--town', town, '--machine', name], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d.toString()));
  const exited = new Promise((r) => child.on('exit', r));
  agents.set(name, { child, exited });
  await until(`agent ${name} serving`, () => log.includes('node agent serving'));
  return join(town, 'run', 'node-agent.sock');
}

async function stopAgent(name) {
  const a = agents.get(name);
  a.child.kill('SIGTERM');
  await a.exited;
}

try {
  const homeTown = install('home');
  const bTown = install('b');
  const sockets = { home: await startAgent('home', homeTown), b: await startAgent('b', bTown) };
  const sim = await coordinatorOver(homeTown, sockets, 2_000, {
    intervalMs: HEARTBEAT_MS,
    graceMs: HEARTBEAT_MS,
    lostAfterMs: 600_000,
  });
  const stateOfB = async () =>
    (await sim.client.getInfo({})).machines.find((m) => m.name === 'b')?.state;
  try {
    // Pause and resume.
    const paused = [];
    const resumed = [];
    for (let i = 0; i < RUNS; i++) {
      await until('b connected', async () => (await stateOfB()) === 'connected');
      await sleep(HEARTBEAT_MS * (1 + Math.random())); // a pause lands anywhere in an interval
      const pid = agents.get('b').child.pid;
      const t0 = performance.now();
      process.kill(pid, 'SIGSTOP');
      await until('b disconnected', async () => (await stateOfB()) === 'disconnected');
      paused.push(performance.now() - t0);
      await sleep(HEARTBEAT_MS);
      const t1 = performance.now();
      process.kill(pid, 'SIGCONT');
      await until('b connected again', async () => (await stateOfB()) === 'connected');
      resumed.push(performance.now() - t1);
    }

    // The outbox: the live path, then the same amount queued while b is away and drained.
    const send = (k) =>
      sim.client.sendMail({ to: 'b:mayor', from: 'overseer', subject: `m${k}`, body: 'bench' });
    const tLive = performance.now();
    for (let k = 0; k < MAILS; k++) {
      const r = await send(k);
      if (r.state !== 'delivered') throw new Error(`live mail ${k}: ${r.state} ${r.detail}`);
    }
    const liveS = (performance.now() - tLive) / 1000;
    await stopAgent('b');
    const queued = [];
    for (let k = 0; k < MAILS; k++) {
      const r = await send(MAILS + k);
      if (r.state !== 'queued') throw new Error(`mail ${k} while away: ${r.state}`);
      queued.push(r.id);
    }
    await startAgent('b', bTown);
    await until('b connected again', async () => (await stateOfB()) === 'connected');
    // The coordinator drains a machine's outbox as soon as it hears the machine again: the
    // drain is timed from "connected" until nothing waits for b any more.
    const tDrain = performance.now();
    await until('the outbox drained', async () => {
      const o = await sim.client.listOutbox({ retry: true, dueOnly: false });
      return o.entries.filter((e) => queued.includes(e.message?.id)).length === 0;
    });
    const drainS = (performance.now() - tDrain) / 1000;

    const silenceMs = 3 * HEARTBEAT_MS;
    const result = {
      heartbeat_interval_ms: HEARTBEAT_MS,
      disconnected_after_ms: silenceMs,
      runs: RUNS,
      pause_to_disconnected_ms: median(paused),
      pause_to_disconnected_max_ms: Math.max(...paused),
      pause_over_ttl_grace: median(paused) / silenceMs,
      resume_to_connected_ms: median(resumed),
      resume_to_connected_max_ms: Math.max(...resumed),
      resume_in_heartbeats: median(resumed) / HEARTBEAT_MS,
      mails: MAILS,
      live_msgs_per_s: MAILS / liveS,
      drain_msgs_per_s: MAILS / drainS,
      drain_over_live: liveS / drainS,
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `pause -> disconnected ${result.pause_to_disconnected_ms.toFixed(0)} ms (${result.pause_over_ttl_grace.toFixed(2)}x TTL+grace); resume -> connected ${result.resume_to_connected_ms.toFixed(0)} ms (${result.resume_in_heartbeats.toFixed(2)} heartbeats)`,
    );
    console.log(
      `outbox drain ${result.drain_msgs_per_s.toFixed(0)} msg/s vs live ${result.live_msgs_per_s.toFixed(0)} msg/s = ${result.drain_over_live.toFixed(2)}x`,
    );
    faults = result;
  } finally {
    await sim.close();
  }
  for (const name of agents.keys()) await stopAgent(name);
  const paused = await dockerPause();
  console.log(`written: ${writeResult('fleet-faults', { ...faults, docker_pause: paused })}`);
} finally {
  for (const [, a] of agents) {
    a.child.kill('SIGCONT');
    a.child.kill('SIGTERM');
  }
  await Promise.race([Promise.all([...agents.values()].map((a) => a.exited)), sleep(5_000)]);
  for (const [, a] of agents) if (a.child.exitCode === null) a.child.kill('SIGKILL');
  if (existsSync(base)) rmSync(base, { recursive: true, force: true });
}

/**
 * `docker pause` of a provisioned test host under `gt up`: pause → disconnected and unpause →
 * connected as the daemon's status says. Returns the figures, or { skipped } without Docker.
 */
async function dockerPause() {
  const info = spawnSync('docker', ['info'], { stdio: 'ignore' });
  if (info.error !== undefined || info.status !== 0) {
    const skipped = 'no Docker engine answers (`docker info` failed): start dockerd to measure it';
    console.log(`docker pause: skipped, ${skipped}`);
    return { skipped };
  }
  const lib = await loadMachinesLib();
  const dir = join(base, 'docker');
  mkdirSync(join(dir, 'home'), { recursive: true });
  const town = install(join('docker', 'town'));
  const config = join(town, 'config', 'town.json');
  const townConfig = JSON.parse(readFileSync(config, 'utf8'));
  const fleet = { heartbeat_interval_ms: DOCKER_HEARTBEAT_MS, lost_after_ms: 600_000 };
  writeFileSync(config, `${JSON.stringify({ ...townConfig, fleet }, null, 2)}\n`);
  // An empty HOME: the user's own ~/.ssh is never read or written.
  const env = { ...process.env, GT_TOWN: town, HOME: join(dir, 'home'), SSH_AUTH_SOCK: '' };
  const gt = (...args) =>
    execFileSync(process.execPath, [GT, ...args], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const hosts = await lib.startTestHosts(['faults'], join(dir, 'keys'));
  const id = hosts.hosts[0].container.getId();
  let up = false;
  let status;
  try {
    const h = hosts.hosts[0];
    gt(
      ...['machine', 'add', 'faults', '--ssh', `root@${h.host}:${h.port}`],
      ...['--identity', hosts.clientKey, '--accept-host-key', '--town-path', '/srv/gastown'],
    );
    gt('up');
    up = true;
    // The daemon's own socket: the GetStatus call `gt status` makes there, without a process
    // start in every poll.
    status = (await lib.loadGrpc()).connectUnix(
      lib.Coordinator,
      join(town, 'run', 'coordinator.sock'),
    );
    const stateOf = async () =>
      (await status.client.getStatus({})).machines.find((m) => m.name === 'faults')?.state;
    /** Median of 3 whole `gt status --json` runs, each checked to show faults in `state`. */
    const wholeStatus = (state) => {
      const times = [];
      for (let k = 0; k < 3; k++) {
        const t = performance.now();
        const shown = JSON.parse(gt('status', '--json')).machines.find((m) => m.name === 'faults');
        times.push(performance.now() - t);
        if (shown?.state !== state)
          throw new Error(`gt status says faults is ${shown?.state}, not ${state}`);
      }
      return median(times);
    };
    await until('faults connected', async () => (await stateOf()) === 'connected', 60_000);
    const connectedStatusMs = wholeStatus('connected');
    const paused = [];
    const resumed = [];
    let wholeStatusMs = 0;
    for (let i = 0; i < DOCKER_RUNS; i++) {
      await until('faults connected', async () => (await stateOf()) === 'connected', 60_000);
      await sleep(DOCKER_HEARTBEAT_MS * (1 + Math.random())); // anywhere in an interval
      execFileSync('docker', ['pause', id]);
      const t0 = performance.now();
      await until('faults disconnected', async () => (await stateOf()) === 'disconnected');
      paused.push(performance.now() - t0);
      if (i === 0) wholeStatusMs = wholeStatus('disconnected');
      await sleep(DOCKER_HEARTBEAT_MS);
      execFileSync('docker', ['unpause', id]);
      const t1 = performance.now();
      await until('faults connected again', async () => (await stateOf()) === 'connected');
      resumed.push(performance.now() - t1);
    }
    const silenceMs = 3 * DOCKER_HEARTBEAT_MS;
    const figures = {
      heartbeat_interval_ms: DOCKER_HEARTBEAT_MS,
      disconnected_after_ms: silenceMs,
      runs: DOCKER_RUNS,
      pause_to_disconnected_ms: median(paused),
      pause_to_disconnected_max_ms: Math.max(...paused),
      pause_over_ttl_grace: median(paused) / silenceMs,
      unpause_to_connected_ms: median(resumed),
      unpause_to_connected_max_ms: Math.max(...resumed),
      unpause_in_heartbeats: median(resumed) / DOCKER_HEARTBEAT_MS,
      gt_status_while_disconnected_ms: wholeStatusMs,
      gt_status_while_connected_ms: connectedStatusMs,
    };
    console.log(JSON.stringify({ docker_pause: figures }, null, 2));
    console.log(
      `docker pause -> disconnected ${figures.pause_to_disconnected_ms.toFixed(0)} ms (${figures.pause_over_ttl_grace.toFixed(2)}x TTL+grace); unpause -> connected ${figures.unpause_to_connected_ms.toFixed(0)} ms (${figures.unpause_in_heartbeats.toFixed(2)} heartbeats); gt status while disconnected ${wholeStatusMs.toFixed(0)} ms (connected ${connectedStatusMs.toFixed(0)} ms)`,
    );
    return figures;
  } finally {
    status?.close();
    spawnSync('docker', ['unpause', id], { stdio: 'ignore' });
    if (up) spawnSync(process.execPath, [GT, 'down'], { env, stdio: 'ignore' });
    await hosts.stop();
  }
}
