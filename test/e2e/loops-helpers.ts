// A worker machine as its service runs it: the built gt-node-agent as a real process on its own
// town (own tmux server), running its own Witness and Refinery loops; its JSON log collected.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { createNodeAgent } from '../../node-agent/index.js';
import { NodeAgent, loadGrpc, type ClientOf } from '../../proto/index.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { makeBareRepo } from '../helpers/git.js';

const AGENT = join(REPO_ROOT, 'dist', 'node-agent', 'main.js');
const AGENTS = join(REPO_ROOT, 'test', 'agents');
const ctx = () => ({ signal: new AbortController().signal, peer: 'test' });

export interface LogLine {
  msg: string;
  rig?: string;
  actions?: string[];
  entry?: string;
  state?: string;
}

export interface WorkerProcess {
  name: string;
  townRoot: string;
  socket: string;
  client: ClientOf<typeof NodeAgent>;
  pid: number;
  log: () => LogLine[];
  stop: () => Promise<void>;
}

/** The scripted agent as preset `scripted` (config/agents.json). */
export function writeAgents(townRoot: string, dir: string): void {
  const scripted = {
    command: [process.execPath, join(AGENTS, 'scripted-agent.mjs')],
    ready_pattern: '^> $',
    ready_timeout_ms: 20_000,
    env: { GT_TEST_AGENT_MODE: 'normal', GT_TEST_AGENT_LOG: join(dir, 'agent.log') },
  };
  writeFileSync(
    join(townRoot, 'config', 'agents.json'),
    JSON.stringify({ presets: { scripted } }, null, 2),
  );
}

/** Fast loops for a test: patrol and merge every few hundred ms. */
export function fastLoops(townRoot: string, rig: string): void {
  const file = join(townRoot, rig, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  config.merge_interval_ms = 300;
  config.witness = { patrol_interval_ms: 300, nudge_interval_ms: 3_600_000 };
  writeFileSync(file, JSON.stringify(config, null, 2));
}

/** Install town `<dir>/<name>` with rigs `homes` homed there (each from a fresh bare origin). */
export async function installWorkerTown(
  dir: string,
  name: string,
  homes: string[],
): Promise<{ townRoot: string; origins: Record<string, string> }> {
  const townRoot = join(dir, name);
  const agent = createNodeAgent({ townRoot, machine: name });
  await agent.impl.installTown(
    { $typeName: 'gastown.v1.InstallTownRequest', root: townRoot, name: 'fleet', force: false },
    ctx(),
  );
  const origins: Record<string, string> = {};
  for (const rig of homes) {
    origins[rig] = makeBareRepo(join(dir, `${rig}-origin`));
    await agent.impl.addRig(
      { $typeName: 'gastown.v1.AddRigRequest', name: rig, gitUrl: origins[rig], prefix: rig },
      ctx(),
    );
    fastLoops(townRoot, rig);
  }
  await agent.close();
  writeAgents(townRoot, dir);
  return { townRoot, origins };
}

/** Start the built gt-node-agent on an installed town, served on `<dir>/<name>.sock`. */
export async function startWorkerProcess(
  dir: string,
  name: string,
  townRoot: string,
): Promise<WorkerProcess> {
  const socket = join(dir, `${name}.sock`);
  const child = spawn(
    process.execPath,
    [AGENT, '--town', townRoot, '--machine', name, '--socket', socket],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GT_LOOP_TICK_MS: '100' } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const deadline = Date.now() + 20_000;
  while (!(existsSync(socket) && stderr.includes('node agent serving'))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`gt-node-agent ${name} did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const grpc = await loadGrpc();
  const { client, close } = grpc.connectUnix(NodeAgent, socket);
  const stop = async (): Promise<void> => {
    close();
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  };
  onTestFinished(async () => {
    await stop();
    killTmux(townRoot);
  });
  const log = (): LogLine[] =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  return { name, townRoot, socket, client, pid: child.pid ?? 0, log, stop };
}

/** End a town's own tmux server (its agents' sessions). */
export function killTmux(townRoot: string): void {
  try {
    execFileSync('tmux', ['-S', join(townRoot, 'run', 'tmux.sock'), 'kill-server'], {
      stdio: 'ignore',
    });
  } catch {
    /* no server: nothing ran there */
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A bd command against `rig` on the machine `client` serves; its JSON output. */
export async function beadsJson(
  client: ClientOf<typeof NodeAgent>,
  rig: string,
  args: string[],
): Promise<unknown> {
  const r = await client.runBeads({
    rig,
    args: [...args, '--json'],
    actor: 'overseer',
    stdin: new Uint8Array(),
  });
  if (r.exitCode !== 0) throw new Error(Buffer.from(r.stderr).toString());
  return JSON.parse(Buffer.from(r.stdout).toString()) as unknown;
}

export async function issueStatus(
  client: ClientOf<typeof NodeAgent>,
  rig: string,
  id: string,
): Promise<string> {
  const shown = await beadsJson(client, rig, ['show', id]);
  return ((Array.isArray(shown) ? shown[0] : shown) as { status: string }).status;
}

/** The loop record of `rig`/`loop` in a machine's report (zeros when it never ran). */
export async function loopOf(client: ClientOf<typeof NodeAgent>, rig: string, loop: string) {
  const r = await client.report({});
  const l = r.loops.find((x) => x.rig === rig && x.loop === loop);
  return {
    own: r.ownLoops,
    runs: Number(l?.runs ?? 0n),
    asked: Number(l?.asked ?? 0n),
    declined: Number(l?.declined ?? 0n),
    lastError: l?.lastError ?? '',
    intervalMs: l?.intervalMs ?? 0,
  };
}
