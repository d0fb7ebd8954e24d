#!/usr/bin/env node
// Machines over SSH (issue 10), against a bare Debian test host (a Docker container of
// test/hosts, built when missing), each figure beside a floor measured in the same run:
//   provision   provisioning a bare host (connect, probe, lock, upload, verify, switch, start,
//               handshake) vs the floor: connect, upload the same bytes in one exec channel,
//               run the uploaded node binary once (goal <= 2x)
//   reprovision `gt machine provision` of an up-to-date host, the whole process (goal < 1 s,
//               one round trip of checks: remote commands counted)
//   unary       a unary call (Handshake) to the remote node agent through our tunnel vs a raw
//               ssh2 stream-local forward on a connection of its own (goal <= 1.3x)
//   npm run build && node bench/machines.mjs [--quick]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GT, ROOT, loadMachinesLib, median, printTable, sized, writeResult } from './lib.mjs';

const lib = await loadMachinesLib();

const PROVISIONS = sized(5, 1);
const REPROVISIONS = sized(7, 1);
const CALLS = sized(500, 20);
const TOWN = '/srv/gastown';
const base = realpathSync(mkdtempSync(join(tmpdir(), 'gt-bench-machines-')));
const town = join(base, 'town');
const now = () => Number(process.hrtime.bigint()) / 1e6;

function gt(args, env) {
  const t0 = now();
  const r = spawnSync(process.execPath, [GT, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gt ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms: now() - t0, stderr: r.stderr };
}

/** Count the exec channels our code opens (the round trips that cost ~tens of ms each). */
let execs = 0;
const openExec = lib.SshConnection.prototype.openExec;
lib.SshConnection.prototype.openExec = function (...args) {
  execs++;
  return openExec.apply(this, args);
};

const fleet = await lib.startTestHosts(['bench'], join(base, 'keys'));
try {
  const h = fleet.hosts[0];
  const spawned = spawnSync(process.execPath, [GT, 'install', town], { encoding: 'utf8' });
  if (spawned.status !== 0) throw new Error(spawned.stderr);
  mkdirSync(join(base, 'home'), { recursive: true });
  const env = {
    ...process.env,
    GT_TOWN: town,
    HOME: join(base, 'home'),
    SSH_AUTH_SOCK: '',
    NO_COLOR: '1',
  };
  const target = {
    machine: 'bench',
    user: 'root',
    host: h.host,
    port: h.port,
    identityFile: fleet.clientKey,
  };
  const machine = {
    type: 'ssh',
    host: h.host,
    port: h.port,
    user: 'root',
    identity_file: fleet.clientKey,
    town_path: TOWN,
  };
  gt(
    [
      'machine',
      'add',
      'bench',
      '--ssh',
      `root@${h.host}:${h.port}`,
      '--identity',
      fleet.clientKey,
      '--accept-host-key',
      '--town-path',
      TOWN,
      '--no-provision',
    ],
    env,
  );
  const wipe = async () => {
    const r = await h.run([
      'sh',
      '-c',
      `p=$(cat ${TOWN}/run/node-agent-supervisor.pid 2>/dev/null) && kill $p; a=$(cat ${TOWN}/run/node-agent.pid 2>/dev/null) && kill -9 $a; sleep 0.2; rm -rf ${TOWN} /srv/floor`,
    ]);
    if (r.exitCode !== 0) throw new Error(r.output);
  };

  // The bytes provisioning ships: the node binary and the bundle's files.
  const bundleDir = lib.findAgentBundle(join(ROOT, 'dist'));
  const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
  const files = [
    { path: 'node', data: readFileSync(process.execPath), mode: 0o755 },
    ...manifest.files.map((f) => ({
      path: f.path,
      data: readFileSync(join(bundleDir, f.path)),
      mode: 0o644,
    })),
  ];
  const bytes = files.reduce((s, f) => s + f.data.length, 0);
  const all = Buffer.concat(files.map((f) => f.data));

  // (a) provisioning a bare host vs the floor.
  const ours = [];
  const floor = [];
  const steps = [];
  let provisionExecs = 0;
  for (let i = 0; i < PROVISIONS; i++) {
    await wipe();
    execs = 0;
    const marks = [];
    const t0 = now();
    await lib.provisionMachine({
      townRoot: town,
      name: 'bench',
      machine,
      onStep: (s) => marks.push([s, now() - t0]),
    });
    ours.push(now() - t0);
    provisionExecs = execs;
    steps.push(marks);
    await wipe();
    const t1 = now();
    const conn = await lib.SshConnection.connect({ target, townRoot: town });
    const up = await conn.exec(
      [
        'sh',
        '-c',
        'mkdir -p /srv/floor && cat > /srv/floor/payload && head -c ' +
          files[0].data.length +
          ' /srv/floor/payload > /srv/floor/node && chmod 755 /srv/floor/node',
      ],
      { stdin: all },
    );
    const run = await conn.exec(['/srv/floor/node', '-e', '0']);
    floor.push(now() - t1);
    await conn.close();
    if (up.code !== 0 || run.code !== 0)
      throw new Error(`floor failed: ${up.stderr} ${run.stderr}`);
  }
  await wipe();
  await lib.provisionMachine({ townRoot: town, name: 'bench', machine });

  // (b) re-provisioning the up-to-date host: the whole gt process, and its remote commands.
  const again = [];
  for (let i = 0; i < REPROVISIONS; i++) again.push(gt(['machine', 'provision', 'bench'], env).ms);
  execs = 0;
  const t2 = now();
  const inproc = await lib.provisionMachine({ townRoot: town, name: 'bench', machine });
  const againInProcess = now() - t2;
  const reprovisionExecs = execs - 1; // the connection's held session channel is not a check
  if (inproc.changed) throw new Error('re-provisioning changed something');

  // (c) a unary call through our tunnel vs a raw ssh2 stream-local forward.
  const grpc = await lib.loadGrpc();
  const agent = await lib.connectSshMachine('bench', machine, { townRoot: town });
  const rawConn = await lib.SshConnection.connect({ target, townRoot: town });
  const rawSock = join(base, 'raw.sock');
  const server = createServer((local) => {
    rawConn.client.openssh_forwardOutStreamLocal(`${TOWN}/run/node-agent.sock`, (err, ch) => {
      if (err) return local.destroy();
      local.pipe(ch).pipe(local);
    });
  });
  await new Promise((r) => server.listen(rawSock, r));
  const raw = grpc.connectUnix(lib.NodeAgent, rawSock);
  const req = {
    coordinatorVersion: 'bench',
    protocolVersion: lib.PROTOCOL_VERSION,
    machine: 'bench',
  };
  const timeCalls = async (client) => {
    for (let i = 0; i < 20; i++) await client.handshake(req);
    const t = [];
    for (let i = 0; i < CALLS; i++) {
      const t0 = now();
      await client.handshake(req);
      t.push(now() - t0);
    }
    return t;
  };
  // Interleaved rounds, so both see the same machine load.
  const oursCalls = [];
  const rawCalls = [];
  for (let round = 0; round < 5; round++) {
    oursCalls.push(...(await timeCalls(agent.client)));
    rawCalls.push(...(await timeCalls(raw.client)));
  }
  raw.close();
  server.close();
  await rawConn.close();
  await agent.close();

  const p = median(ours);
  const f = median(floor);
  const u = median(oursCalls);
  const r = median(rawCalls);
  // Median time spent in each step (from its start to the next step's start, or the end).
  const stepMs = {};
  for (const [k, marks] of steps.entries())
    marks.forEach(([name, at], i) => {
      const next = i + 1 < marks.length ? marks[i + 1][1] : ours[k];
      (stepMs[name] ??= []).push(next - at);
    });
  const lastSteps = Object.fromEntries(
    [['connect', steps.map((m) => m[0][1])], ...Object.entries(stepMs)].map(([n, v]) => [
      n,
      Math.round(median(v)),
    ]),
  );
  printTable([
    {
      figure: 'provision bare host (ms)',
      ours: p.toFixed(0),
      floor: f.toFixed(0),
      ratio: (p / f).toFixed(2),
      goal: '<= 2x',
    },
    {
      figure: 're-provision, gt process (ms)',
      ours: median(again).toFixed(0),
      floor: '-',
      ratio: '-',
      goal: '< 1000 ms',
    },
    {
      figure: 'unary call via tunnel (ms)',
      ours: u.toFixed(3),
      floor: r.toFixed(3),
      ratio: (u / r).toFixed(2),
      goal: '<= 1.3x',
    },
  ]);
  console.log(
    `provision bare host: ours/floor = ${(p / f).toFixed(2)}x (${(bytes / 1e6).toFixed(1)} MB, ${provisionExecs} remote commands; median ms per step ${JSON.stringify(lastSteps)})`,
  );
  console.log(
    `re-provision up to date: ${median(again).toFixed(0)} ms whole process, ${againInProcess.toFixed(0)} ms in process, ${reprovisionExecs} remote command(s)`,
  );
  console.log(`unary call through the tunnel: ours/raw ssh2 = ${(u / r).toFixed(2)}x`);
  console.log(
    writeResult('machines', {
      provision_ms_median: p,
      provision_floor_ms_median: f,
      provision_ratio: p / f,
      provision_bytes: bytes,
      provision_remote_commands: provisionExecs,
      provision_steps_ms: lastSteps,
      reprovision_process_ms_median: median(again),
      reprovision_in_process_ms: againInProcess,
      reprovision_remote_commands: reprovisionExecs,
      unary_ms_median: u,
      unary_raw_ms_median: r,
      unary_ratio: u / r,
      runs: { provisions: PROVISIONS, reprovisions: REPROVISIONS, calls: CALLS * 5 },
    }),
  );
} finally {
  await fleet.stop();
  rmSync(base, { recursive: true, force: true });
}
