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
// Heartbeats are not produced yet, so their CPU per machine is not measured here.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
      mail_ms: mailMs,
      status_coord_cpu_ms: statusCpu,
      machines_coord_cpu_ms: machinesCpu,
      heap_kb_per_machine: Math.round((after.heap - before.heap) / 1024 / size),
      rss_kb_per_machine: Math.round((after.rss - before.rss) / 1024 / size),
    });
    await sim.close();
  }
  const result = {
    polecats_per_machine: POLECATS,
    runs: RUNS,
    setup_s: setupS,
    floor_direct_report_ms: floorMs,
    sizes: rows,
    heartbeat_cpu_per_machine: 'not measured: heartbeats are not produced yet',
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
