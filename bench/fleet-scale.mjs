// One coordinator over a simulated fleet (issue "Faults and scale": scale on this machine). The
// node agents — real ones, each on its own town with one rig and POLECATS polecat records, each on
// its own unix socket over real gRPC — run in one child process (dist/bench/fleet-sim.js host);
// the coordinator runs here, so this process's memory is the coordinator's. For each fleet size:
//   status_ms        GetStatus fleet-wide (every machine asked in parallel), median
//   machines_ms      ListMachines (refreshes the fleet directory from every machine), median
//   mail_ms          SendMail to a random polecat `<machine>:<rig>/<polecat>`, median
//   *_coord_cpu_ms   the coordinator's own CPU per call (this process): what grows with the fleet
//                    on the coordinator's machine. All agents share one core in the host process,
//                    so wall times include the whole fleet's work done one machine after another
//                    (a real fleet does it in parallel, one machine each).
//   heap_kb_per_machine / rss_kb_per_machine   growth of this process's memory once every machine
//                    is connected and asked, divided by the fleet size
// The floor, measured in the same run: one unary Report call straight to one agent's socket.
// Heartbeats, at the largest size: the coordinator watches every machine (one Attach stream
// each, a heartbeat every HEARTBEAT_MS) for a window; its CPU over the window minus the same
// window with no watch, per heartbeat and per machine at the default 5 s interval; the agents'
// side likewise, from the host process's CPU (/proc). `machines_polecats_ok` checks that
// `gt machine list`'s counts are every machine's polecats.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, median, sized, writeResult } from './lib.mjs';

// Memory figures need a full GC before each reading: run again with --expose-gc when needed.
if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const SIM = join(ROOT, 'dist', 'bench', 'fleet-sim.js');
const SIZES = sized([10, 50, 200], [2, 4]);
const POLECATS = Number(process.env.POLECATS ?? sized(20, 2));
const RUNS = sized(9, 2);
const MAX = Math.max(...SIZES);
const HEARTBEAT_MS = sized(500, 200);
const WINDOW_MS = sized(10_000, 1_000);

const { coordinatorOver, loadGrpc, NodeAgent } = await import(SIM);

const base = mkdtempSync(join(tmpdir(), 'gt-bench-fleet-'));
const host = spawn(process.execPath, [SIM, 'host', base, String(MAX), String(POLECATS)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const hostExited = new Promise((resolve) => host.on('exit', resolve));

async function time(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function medianOf(fn) {
  await fn(); // warm
  const times = [];
  for (let i = 0; i < RUNS; i++) times.push(await time(fn));
  return median(times);
}

/** Median CPU (user + system, ms) this process — the coordinator — spends per call. */
async function cpuOf(fn) {
  const cpu = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return median(cpu);
}

/** CPU (ms) the fleet host process has used so far (Linux /proc; clock ticks of 10 ms). */
function hostCpuMs() {
  const fields = readFileSync(`/proc/${host.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU of this process (the coordinator) and of the fleet host over `ms` of waiting. */
async function cpuOver(ms) {
  const c0 = process.cpuUsage();
  const h0 = hostCpuMs();
  await new Promise((r) => setTimeout(r, ms));
  const c = process.cpuUsage(c0);
  return { coordinator: (c.user + c.system) / 1000, agents: hostCpuMs() - h0 };
}

/** Heartbeat CPU with every machine of `sockets` watched (see the header). */
async function heartbeatCpu(townRoot, sockets) {
  const size = Object.keys(sockets).length;
  const quiet = await cpuOver(WINDOW_MS);
  const sim = await coordinatorOver(townRoot, sockets, 10_000, {
    intervalMs: HEARTBEAT_MS,
    graceMs: HEARTBEAT_MS,
    lostAfterMs: 600_000,
  });
  try {
    await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS + 2_000)); // every stream open
    const connected = sim.registry.describe().filter((m) => m.state === 'connected').length;
    if (connected !== size) throw new Error(`${size - connected} machine(s) not connected`);
    const busy = await cpuOver(WINDOW_MS);
    const beats = size * (WINDOW_MS / HEARTBEAT_MS);
    const per = (k) => Math.max(0, busy[k] - quiet[k]) / beats;
    return {
      heartbeat_interval_ms: HEARTBEAT_MS,
      window_ms: WINDOW_MS,
      machines: size,
      coord_cpu_us_per_heartbeat: Math.round(per('coordinator') * 1000),
      agent_cpu_us_per_heartbeat: Math.round(per('agents') * 1000),
      // At the default interval (5 s): each machine costs 1/5 heartbeat per second.
      coord_cpu_ms_per_s_per_machine_at_5s: per('coordinator') / 5,
      coord_cpu_ms_idle_window: quiet.coordinator,
    };
  } finally {
    await sim.close();
  }
}

const memory = () => {
  globalThis.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
};

try {
  const t0 = Date.now();
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: host.stdout });
    rl.once('line', resolve);
    host.once('exit', (code) => reject(new Error(`the fleet host exited ${code}`)));
  });
  const { sockets } = JSON.parse(line);
  const setupS = (Date.now() - t0) / 1000;
  const names = Object.keys(sockets);

  // Floor: one unary call straight to one agent over its socket.
  const grpc = await loadGrpc();
  const direct = grpc.connectUnix(NodeAgent, sockets[names[0]]);
  const floorMs = await medianOf(() => direct.client.report({}));
  direct.close();

  const rows = [];
  for (const size of SIZES) {
    const subset = Object.fromEntries(names.slice(0, size).map((n) => [n, sockets[n]]));
    const before = memory();
    const sim = await coordinatorOver(join(base, names[0]), subset);
    const status = await sim.client.getStatus({});
    const unreachable = status.machines.filter((m) => m.state !== 'connected');
    if (unreachable.length > 0)
      throw new Error(`${unreachable.length} machine(s) not connected: ${unreachable[0].detail}`);
    const polecatsSeen = status.rigs.reduce((n, r) => n + (r.agents?.length ?? 0), 0);
    const statusMs = await medianOf(() => sim.client.getStatus({}));
    const machinesMs = await medianOf(() => sim.client.listMachines({}));
    const listed = await sim.client.listMachines({});
    const polecatsOk = listed.machines.every((m) => m.polecats === POLECATS);
    const statusCpu = await cpuOf(() => sim.client.getStatus({}));
    const machinesCpu = await cpuOf(() => sim.client.listMachines({}));
    let k = 0;
    const mailMs = await medianOf(() => {
      const i = 1 + ((k * 7919) % Math.max(size - 1, 1));
      const m = size === 1 ? 'local' : names[i];
      k += 1;
      return sim.client.sendMail({
        to: `${m}:rig${i}/P${k % POLECATS}`,
        from: 'overseer',
        subject: `sim ${k}`,
        body: 'routed',
      });
    });
    const after = memory();
    rows.push({
      machines: size,
      agents: polecatsSeen,
      status_ms: statusMs,
      machines_ms: machinesMs,
      machines_polecats_ok: polecatsOk,
      mail_ms: mailMs,
      status_coord_cpu_ms: statusCpu,
      machines_coord_cpu_ms: machinesCpu,
      heap_kb_per_machine: Math.round((after.heap - before.heap) / 1024 / size),
      rss_kb_per_machine: Math.round((after.rss - before.rss) / 1024 / size),
    });
    await sim.close();
  }
  const heartbeats = await heartbeatCpu(join(base, names[0]), sockets);
  const result = {
    polecats_per_machine: POLECATS,
    runs: RUNS,
    setup_s: setupS,
    floor_direct_report_ms: floorMs,
    sizes: rows,
    heartbeats,
  };
  console.table(rows);
  console.log(JSON.stringify(result, null, 2));
  console.log(`written: ${writeResult('fleet-scale', result)}`);
} finally {
  host.stdin.end();
  await Promise.race([hostExited, new Promise((r) => setTimeout(r, 5_000))]);
  host.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
}
