// Mail across machines, timed (issue "Work across machines", Speed). Four real node agent
// processes (dist/node-agent/main.js, each its own town and unix socket): the coordinator's own
// machine, two senders (a, b) and a target (c), under one coordinator that keeps the Attach
// streams open as `gt up` does (dist/bench/fleet-sim.js). Senders are sessions' gt on a and b:
// SendMail on each machine's agent socket (run/agent-gt.sock), durable in that machine's outbox,
// relayed up the stream, through the coordinator's outbox, delivered into c's inbox; "delivered"
// comes back only when every hop acknowledged. Measured in the same run:
//   mail_msgs_per_s      SENDERS concurrent senders on each of a and b, MAILS messages in all
//   floor_msgs_per_s     the same concurrency of raw unary calls (Handshake) on c's socket
//   one_mail_p50/p99_ms  one message at a time, end to end
//   one_call_p50/p99_ms  one raw unary call at a time
//   bd_ready_relayed_ms  whole `bd ready` process in a session on a (the rig is homed on the
//                        coordinator's machine: relayed up a's stream) vs bd_ready_home_ms, the
//                        same on the home (opens the DB); the same for `bd update ID --claim`
//   node_start_ms        the floor of any process: node running an empty module
//   run_beads_relayed_ms `ready` as one RunBeads call on a's agent socket from a warm client
//                        (both hops and the home's work, no process) vs run_beads_home_ms, the
//                        same call straight to the home's node agent (one hop and the work)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  until,
  writeResult,
} from './lib.mjs';

const SIM = join(ROOT, 'dist', 'bench', 'fleet-sim.js');
const SENDERS = sized(16, 2);
const MAILS = sized(2_000, 40);
const ONE = sized(200, 10);
const BD_RUNS = sized(15, 2);

const { coordinatorOver, loadGrpc, Coordinator, NodeAgent } = await import(SIM);
const grpc = await loadGrpc();
const base = mkdtempSync(join(tmpdir(), 'gt-bench-mail-'));
const children = [];

async function machine(name) {
  const agent = await startNodeAgent(name, installTown(join(base, name)));
  children.push(agent);
  return agent;
}

/** Wall time of one whole process (async: the coordinator runs in this process). */
function timed(argv, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${argv.join(' ')}: ${err}`)),
    );
  });
}

/** A rig `app` homed on `town` (a fresh bare origin) with `n` open issues; their ids. */
function rigWithIssues(town, n) {
  const origin = join(base, 'origin.git');
  const seed = join(base, 'seed');
  git(base, 'init', '-q', '--bare', '-b', 'main', origin);
  git(base, 'init', '-q', '-b', 'main', seed);
  git(seed, 'commit', '-q', '--allow-empty', '-m', 'first');
  git(seed, 'push', '-q', origin, 'HEAD:main');
  const env = { ...process.env, GT_TOWN: town };
  const added = spawnSync(process.execPath, [GT, 'rig', 'add', 'app', origin], {
    env,
    encoding: 'utf8',
  });
  if (added.status !== 0) throw new Error(`gt rig add: ${added.stderr}`);
  const bdEnv = { ...env, BEADS_DIR: join(town, 'app', '.beads') };
  return Array.from({ length: n }, (_, i) => {
    const r = spawnSync(process.execPath, [BD, 'create', `issue ${i}`, '--json'], {
      env: bdEnv,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`bd create: ${r.stderr}`);
    return JSON.parse(r.stdout).id;
  });
}

const pct = (values, p) => {
  const s = [...values].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Run `total` calls of `one(k)` over `lanes` concurrent lanes; calls per second. */
async function rate(total, lanes, one) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let k = next++; k < total; k = next++) await one(k);
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

try {
  const [home, a, b, c] = await Promise.all(['home', 'a', 'b', 'c'].map(machine));
  const issues = rigWithIssues(home.town, 2 * BD_RUNS);
  const sim = await coordinatorOver(
    home.town,
    { home: home.socket, a: a.socket, b: b.socket, c: c.socket },
    10_000,
    { intervalMs: 1_000, graceMs: 1_000, lostAfterMs: 600_000 },
  );
  const sessions = [a, b].map((m) =>
    grpc.connectUnix(Coordinator, join(m.town, 'run', 'agent-gt.sock')),
  );
  const target = grpc.connectUnix(NodeAgent, c.socket);
  try {
    // Both senders attached (their outbox answers "delivered" only through a live stream).
    for (const s of sessions)
      await until('a sender attached', async () => {
        const r = await s.client.sendMail({ to: 'c:mayor', subject: 'warm-up', body: 'x' });
        return r.state === 'delivered';
      });
    const send = async (s, k) => {
      const r = await s.client.sendMail({ to: 'c:mayor', subject: `m${k}`, body: 'bench' });
      if (r.state !== 'delivered') throw new Error(`mail ${k}: ${r.state} ${r.detail}`);
    };
    const mailRate = await rate(MAILS, 2 * SENDERS, (k) => send(sessions[k % 2], k));
    const handshake = () =>
      target.client.handshake({ coordinatorVersion: '0', protocolVersion: 1, machine: 'c' });
    const floorRate = await rate(MAILS, 2 * SENDERS, () => handshake());
    const oneMail = [];
    const oneCall = [];
    for (let k = 0; k < ONE; k++) {
      const t0 = performance.now();
      await send(sessions[0], MAILS + k);
      oneMail.push(performance.now() - t0);
      const t1 = performance.now();
      await handshake();
      oneCall.push(performance.now() - t1);
    }
    // bd in a session on a (relayed to the rig's home) vs on the home itself.
    const onA = {
      ...process.env,
      GT_TOWN: a.town,
      GT_RIG: 'app',
      BEADS_DIR: join(a.town, 'app', '.beads'),
      GT_AGENT_SOCKET: join(a.town, 'run', 'agent-gt.sock'),
      BD_ACTOR: 'app/Nux',
    };
    const onHome = {
      ...process.env,
      GT_TOWN: home.town,
      BEADS_DIR: join(home.town, 'app', '.beads'),
      BD_ACTOR: 'app/Toast',
    };
    const empty = join(base, 'empty.mjs');
    writeFileSync(empty, '');
    const homeAgent = grpc.connectUnix(NodeAgent, home.socket);
    const runBeads = async (client) => {
      const t0 = performance.now();
      const r = await client.runBeads({
        rig: 'app',
        args: ['ready'],
        actor: 'x',
        stdin: new Uint8Array(),
      });
      if (r.exitCode !== 0) throw new Error(`RunBeads ready: ${Buffer.from(r.stderr)}`);
      return performance.now() - t0;
    };
    const readyRelayed = [];
    const readyHome = [];
    const claimRelayed = [];
    const claimHome = [];
    const nodeStart = [];
    const callRelayed = [];
    const callHome = [];
    for (let k = 0; k < BD_RUNS; k++) {
      nodeStart.push(await timed([empty], onHome));
      readyRelayed.push(await timed([BD, 'ready'], onA));
      readyHome.push(await timed([BD, 'ready'], onHome));
      claimRelayed.push(await timed([BD, 'update', issues[2 * k], '--claim'], onA));
      claimHome.push(await timed([BD, 'update', issues[2 * k + 1], '--claim'], onHome));
      callRelayed.push(await runBeads(sessions[0].client));
      callHome.push(await runBeads(homeAgent.client));
    }
    homeAgent.close();
    const inbox = await target.client.listMail({ address: 'mayor', unreadOnly: false });
    const ids = new Set(inbox.messages.map((m) => m.id));
    const bench = inbox.messages.filter((m) => m.body === 'bench');
    if (bench.length !== MAILS + ONE || ids.size !== inbox.messages.length)
      throw new Error(`c's inbox holds ${bench.length} of ${MAILS + ONE} messages, or duplicates`);
    const result = {
      senders_per_machine: SENDERS,
      mails: MAILS,
      mail_msgs_per_s: mailRate,
      floor_msgs_per_s: floorRate,
      mail_over_floor: mailRate / floorRate,
      one_mail_p50_ms: median(oneMail),
      one_mail_p99_ms: pct(oneMail, 99),
      one_call_p50_ms: median(oneCall),
      one_call_p99_ms: pct(oneCall, 99),
      bd_ready_relayed_ms: median(readyRelayed),
      bd_ready_home_ms: median(readyHome),
      bd_claim_relayed_ms: median(claimRelayed),
      bd_claim_home_ms: median(claimHome),
      node_start_ms: median(nodeStart),
      run_beads_relayed_ms: median(callRelayed),
      run_beads_home_ms: median(callHome),
    };
    const plus = (a, b) => `${a >= b ? '+' : '-'}${Math.abs(a - b).toFixed(1)} ms`;
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `cross-machine mail ${mailRate.toFixed(0)} msg/s vs raw unary floor ${floorRate.toFixed(0)} calls/s = ${result.mail_over_floor.toFixed(3)}x; one message p50 ${result.one_mail_p50_ms.toFixed(1)} ms vs one call ${result.one_call_p50_ms.toFixed(2)} ms`,
    );
    console.log(
      `bd ready relayed ${result.bd_ready_relayed_ms.toFixed(1)} ms vs on the home ${result.bd_ready_home_ms.toFixed(1)} ms (${plus(result.bd_ready_relayed_ms, result.bd_ready_home_ms)}); bd update --claim relayed ${result.bd_claim_relayed_ms.toFixed(1)} ms vs ${result.bd_claim_home_ms.toFixed(1)} ms (${plus(result.bd_claim_relayed_ms, result.bd_claim_home_ms)})`,
    );
    console.log(
      `of which: node start ${result.node_start_ms.toFixed(1)} ms; the RunBeads call alone ${result.run_beads_relayed_ms.toFixed(1)} ms relayed vs ${result.run_beads_home_ms.toFixed(1)} ms on the home's agent`,
    );
    console.log(`written: ${writeResult('fleet-mail', result)}`);
  } finally {
    for (const s of sessions) s.close();
    target.close();
    await sim.close();
  }
} finally {
  await stopNodeAgents(children);
  if (existsSync(base)) rmSync(base, { recursive: true, force: true });
}
