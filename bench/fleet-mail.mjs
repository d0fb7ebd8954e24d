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
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GT, ROOT, median, sized, writeResult } from './lib.mjs';

const SIM = join(ROOT, 'dist', 'bench', 'fleet-sim.js');
const AGENT = join(ROOT, 'dist', 'node-agent', 'main.js');
const SENDERS = sized(16, 2);
const MAILS = sized(2_000, 40);
const ONE = sized(200, 10);

const { coordinatorOver, loadGrpc, Coordinator, NodeAgent } = await import(SIM);
const grpc = await loadGrpc();
const base = mkdtempSync(join(tmpdir(), 'gt-bench-mail-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];

async function until(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function machine(name) {
  const town = join(base, name);
  const r = spawnSync(process.execPath, [GT, 'install', town], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gt install ${town}: ${r.stderr}`);
  const child = spawn(process.execPath, [AGENT, '--town', town, '--machine', name], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d.toString()));
  children.push({ child, exited: new Promise((res) => child.on('exit', res)) });
  await until(`agent ${name} serving`, () => log.includes('node agent serving'));
  return { town, socket: join(town, 'run', 'node-agent.sock') };
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
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `cross-machine mail ${mailRate.toFixed(0)} msg/s vs raw unary floor ${floorRate.toFixed(0)} calls/s = ${result.mail_over_floor.toFixed(3)}x; one message p50 ${result.one_mail_p50_ms.toFixed(1)} ms vs one call ${result.one_call_p50_ms.toFixed(2)} ms`,
    );
    console.log(`written: ${writeResult('fleet-mail', result)}`);
  } finally {
    for (const s of sessions) s.close();
    target.close();
    await sim.close();
  }
} finally {
  for (const { child } of children) child.kill('SIGTERM');
  await Promise.race([Promise.all(children.map((x) => x.exited)), sleep(5_000)]);
  for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (existsSync(base)) rmSync(base, { recursive: true, force: true });
}
