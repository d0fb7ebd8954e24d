// `gt status` and a hung machine: machine b's node agent is its own process, stopped with
// SIGSTOP (what `docker pause` does to a host) under a coordinator that watches heartbeats as
// `gt up` does, with short liveness settings. A status asked while b hangs answers as soon as the
// watch says b is disconnected (not after its own, long, per-machine timeout), shows since when,
// and one asked after that answers at once; when b runs again it is connected, its rigs back.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { renderStatus } from '../../../cli/commands/town.js';
import { REPO_ROOT } from '../../helpers/cli.js';
import { addRigOn, fleetDir, startCoordinator, startMachine } from './fleet-helpers.js';

const GT = join(REPO_ROOT, 'dist', 'cli', 'gt.js');
const AGENT = join(REPO_ROOT, 'dist', 'node-agent', 'main.js');
/** Far longer than the watch needs (3 heartbeats of 200 ms): waiting it out is a failure. */
const MACHINE_TIMEOUT_MS = 30_000;

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Machine `name`'s node agent as its own process on a fresh town (with rig `rig`). */
async function agentProcess(dir: string, name: string, rig: string) {
  if (!existsSync(AGENT))
    throw new Error(
      `this test runs the built node agent: ${AGENT} is missing; run \`npm run build\``,
    );
  const town = join(dir, name);
  const installed = spawnSync(process.execPath, [GT, 'install', town], { encoding: 'utf8' });
  if (installed.status !== 0) throw new Error(`gt install ${town}: ${installed.stderr}`);
  const child = spawn(process.execPath, [AGENT, '--town', town, '--machine', name], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise((r) => child.on('exit', r));
  onTestFinished(async () => {
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await until(`agent ${name} serving`, () => log.includes('node agent serving'));
  const socket = join(town, 'run', 'node-agent.sock');
  const { loadGrpc, NodeAgent } = await import('../../../proto/index.js');
  const { client, close } = (await loadGrpc()).connectUnix(NodeAgent, socket);
  onTestFinished(() => close());
  await addRigOn({ name, townRoot: town, socket, client }, rig);
  close();
  return { pid: child.pid ?? 0, socket };
}

describe('gt status and a hung machine', () => {
  it('shows a stopped host disconnected (since when) once the watch says so, without waiting out the timeout', async () => {
    const dir = fleetDir();
    const home = await startMachine(dir, 'local');
    const b = await agentProcess(dir, 'b', 'beta');
    const closers: Array<() => Promise<void>> = [];
    onTestFinished(async () => {
      for (const close of closers) await close();
    });
    const { client, registry } = await startCoordinator(
      home.townRoot,
      { local: home.socket, b: b.socket },
      {
        machineTimeoutMs: MACHINE_TIMEOUT_MS,
        liveness: { intervalMs: 200, graceMs: 200, lostAfterMs: 600_000 },
        closers,
      },
    );
    const stateOfB = () => registry.describe().find((m) => m.name === 'b')?.state;
    await until('b connected by heartbeats', () => stateOfB() === 'connected');
    const before = await client.getStatus({});
    expect(before.rigs.map((r) => [r.rig?.name, r.rig?.machine])).toEqual([['beta', 'b']]);

    // Asked right after the stop: the answer comes when the watch's verdict does.
    process.kill(b.pid, 'SIGSTOP');
    const asked = Date.now();
    const during = await client.getStatus({});
    const duringMs = Date.now() - asked;
    const shown = during.machines.find((m) => m.name === 'b');
    expect(shown?.state).toBe('disconnected');
    expect(shown?.detail).toMatch(
      /^disconnected: no heartbeat for \d+ s, since \d{4}-\d\d-\d\dT[\d:.]+Z \(one expected every 0\.2 s\); lost in \d+ s unless it returns$/,
    );
    expect(during.rigs).toEqual([]);
    // The watch needs 600 ms of silence (+ a check); the status's own timeout is 30 s.
    expect(duringMs).toBeLessThan(MACHINE_TIMEOUT_MS / 2);

    // Asked while it stays disconnected: answered from the watch at once, as the user sees it.
    const again = Date.now();
    const after = await client.getStatus({});
    const afterMs = Date.now() - again;
    expect(after.machines.find((m) => m.name === 'b')).toMatchObject({
      state: 'disconnected',
      detail: shown?.detail,
    });
    expect(afterMs).toBeLessThan(MACHINE_TIMEOUT_MS / 2);
    const since = /since (\S+) /.exec(shown?.detail ?? '')?.[1] ?? '?';
    expect(renderStatus(after, 'daemon')).toContain(
      `b disconnected: no heartbeat for ${/for (\d+) s/.exec(shown?.detail ?? '')?.[1] ?? '?'} s, since ${since}`,
    );
    // The listing says the same, as fast.
    const listed = await client.listMachines({});
    expect(listed.machines.find((m) => m.name === 'b')?.state).toBe('disconnected');

    // Running again: connected by its next heartbeat, and its rigs are in the status.
    process.kill(b.pid, 'SIGCONT');
    await until('b connected again', () => stateOfB() === 'connected');
    const back = await client.getStatus({});
    expect(back.machines.find((m) => m.name === 'b')?.state).toBe('connected');
    expect(back.rigs.map((r) => [r.rig?.name, r.rig?.machine])).toEqual([['beta', 'b']]);
    console.log(
      `gt status while b is stopped: ${duringMs} ms (until the verdict), then ${afterMs} ms`,
    );
  });
});
