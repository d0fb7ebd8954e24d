// The setup shared by the fleet swarm tests: three bare Debian hosts and a git server container
// started in parallel, the town's git identity set to the server's deploy key, the hosts
// provisioned in parallel with it, the demo agent's files shipped to each host with an agent
// preset that runs it on the host's provisioned node, the rig `app` homed on w1 with its origin
// on the git server, `gt up` here, and nine issues filed with plain bd. Plus the readers the
// tests share (inbox files on a host, swarm status) and a timeline printed at the end.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { startTestHosts, type TestHost, type TestHosts } from '../hosts/containers.js';
import { startGitServer, type GitServer } from '../hosts/git-server.js';

export const TOWN_PATH = '/srv/gastown';
export const HOSTS = ['w1', 'w2', 'w3'] as const;
const AGENT_DIR = '/srv/scripted-agent';
const DEMO_AGENT = join(import.meta.dirname, '..', '..', 'cli', 'demo-agent');

export interface Mail {
  id: string;
  from: string;
  to: string;
  subject: string;
  type: string;
}
export interface SwarmIssue {
  issue: string;
  polecat: string;
  address: string;
  machine?: string;
  merge_state?: string;
  escalated?: boolean;
  error?: string;
}
export interface Swarm {
  id: string;
  state: string;
  issues: SwarmIssue[];
}
export interface Finding {
  check: string;
  status: string;
  machine: string;
  message: string;
}

export interface SwarmFleet {
  env: NodeJS.ProcessEnv;
  hosts: Record<string, TestHost>;
  server: GitServer;
  issues: string[];
  mark(what: string): void;
  /** `gt down`, stop the containers, remove the town and keys, print the timeline. */
  stop(title: string): Promise<void>;
}

/** The scripted agent preset as each host runs it: the provisioned node, the agent shipped there. */
function presets(agentEnv: Record<string, string>): string {
  return JSON.stringify({
    presets: {
      scripted: {
        command: [`${TOWN_PATH}/.gt/current/node`, `${AGENT_DIR}/scripted-agent.mjs`],
        ready_pattern: '^> $',
        ready_timeout_ms: 30_000,
        env: { GT_TEST_AGENT_MODE: 'normal', ...agentEnv },
      },
    },
  });
}

async function shipAgent(h: TestHost, agentEnv: Record<string, string>): Promise<void> {
  await h.container.copyContentToContainer([
    ...['scripted-agent.mjs', 'assignment.mjs', 'tty-input.mjs'].map((f) => ({
      content: readFileSync(join(DEMO_AGENT, f)),
      target: `${AGENT_DIR}/${f}`,
    })),
    { content: presets(agentEnv), target: `${TOWN_PATH}/config/agents.json` },
  ]);
}

/** Start and provision everything; on failure what was started is stopped. */
export async function startSwarmFleet(
  prefix: string,
  agentEnv: Record<string, string> = {},
): Promise<SwarmFleet> {
  const t0 = Date.now();
  const timeline: string[] = [];
  const mark = (what: string): void => {
    timeline.push(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${what}`);
  };
  const base = tempDirUnmanaged(prefix);
  const town = join(base, 'town');
  mkdirSync(join(base, 'home'), { recursive: true });
  // An empty HOME: the user's own ~/.ssh is never read or written by the test.
  const env = { GT_TOWN: town, HOME: join(base, 'home'), SSH_AUTH_SOCK: '' };
  const [installed, fleet, server] = await Promise.allSettled([
    gt(['install', town]),
    startTestHosts([...HOSTS], join(base, 'keys')),
    startGitServer(join(base, 'git-keys')),
  ]);
  let started: TestHosts | undefined;
  let git: GitServer | undefined;
  const stop = async (title: string): Promise<void> => {
    await gt(['down'], { env }).catch(() => undefined);
    await Promise.allSettled([started?.stop(), git?.stop()]);
    rmSync(base, { recursive: true, force: true });
    console.log(`${title} timeline:\n${timeline.join('\n')}`);
  };
  if (fleet.status === 'fulfilled') started = fleet.value;
  if (server.status === 'fulfilled') git = server.value;
  try {
    if (fleet.status === 'rejected') throw fleet.reason;
    if (server.status === 'rejected') throw server.reason;
    if (installed.status === 'rejected') throw installed.reason;
    expect(installed.value.code).toBe(0);
    return await provision(env, fleet.value, server.value, agentEnv, mark, stop);
  } catch (err) {
    await stop('failed setup');
    throw err;
  }
}

async function provision(
  env: NodeJS.ProcessEnv,
  fleet: TestHosts,
  server: GitServer,
  agentEnv: Record<string, string>,
  mark: (what: string) => void,
  stop: (title: string) => Promise<void>,
): Promise<SwarmFleet> {
  mark('4 containers started (3 hosts, git server)');
  const knownHosts = join(String(env.HOME), '..', 'git-keys', 'origin_known_hosts');
  writeFileSync(knownHosts, `${server.hostKnownHostsLine}\n`);
  const set = await gt(['git-identity', 'set', server.deployKey, '--known-hosts', knownHosts], {
    env,
  });
  expect({ code: set.code, stderr: set.stderr }).toEqual({ code: 0, stderr: '' });
  const add = (h: TestHost) =>
    gt(
      [
        ...['machine', 'add', h.name, '--ssh', `root@${h.host}:${h.port}`],
        ...['--identity', fleet.clientKey, '--accept-host-key', '--town-path', TOWN_PATH],
      ],
      { env, timeoutMs: 300_000 },
    );
  const added = await Promise.all(fleet.hosts.map(add));
  for (const r of added) expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
  await Promise.all(fleet.hosts.map((h) => shipAgent(h, agentEnv)));
  mark('w1, w2, w3 provisioned in parallel; scripted agent shipped to each');

  const rig = await gtJson<{ name: string; machine: string }>(
    ['rig', 'add', 'app', server.hostUrl, '--machine', 'w1'],
    { env, timeoutMs: 120_000 },
  );
  expect(rig).toMatchObject({ name: 'app', machine: 'w1' });
  const up = await gt(['up'], { env });
  expect({ code: up.code, stderr: up.stderr }).toEqual({ code: 0, stderr: '' });
  mark('rig app homed on w1 (origin on the git server); gt up here');
  const issues: string[] = [];
  for (let i = 1; i <= 9; i++) {
    const r = await bd(['--rig', 'app', 'create', `Fleet task ${i}`, '-p', '2', '--json'], {
      env,
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    issues.push((JSON.parse(r.stdout) as { id: string }).id);
  }
  mark(`9 issues filed with bd --rig app: ${issues.join(' ')}`);
  const hosts = Object.fromEntries(fleet.hosts.map((h) => [h.name, h]));
  return { env, hosts, server, issues, mark, stop };
}

/** An inbox file on a host, parsed (a missing file is an empty inbox). */
export async function inboxOn(h: TestHost, home: string): Promise<Mail[]> {
  const r = await h.run(['cat', `${TOWN_PATH}/${home}/mail/inbox.jsonl`]);
  if (r.exitCode !== 0) return [];
  return r.output
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Mail);
}

export async function swarmStatus(env: NodeJS.ProcessEnv, id: string): Promise<Swarm> {
  return (await gtJson<{ swarms: Swarm[] }>(['swarm', 'status', id], { env })).swarms[0]!;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 180_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** Polecat tmux sessions left on a host (by the swarm's polecat names). */
export async function polecatSessionsOn(h: TestHost, polecats: string[]): Promise<string[]> {
  const ls = await h.run([
    ...['tmux', '-S', `${TOWN_PATH}/run/tmux.sock`, 'list-sessions', '-F', '#{session_name}'],
  ]);
  return ls.output.split('\n').filter((s) => polecats.some((p) => s === `gt-app-${p}`));
}

/** `gt doctor --json` fleet-wide: its findings that are not ok. */
export async function doctorProblems(env: NodeJS.ProcessEnv): Promise<Finding[]> {
  const doctor = await gt(['doctor', '--json'], { env, timeoutMs: 180_000 });
  const findings = (JSON.parse(doctor.stdout) as { findings: Finding[] }).findings;
  return findings.filter((f) => f.status !== 'ok');
}

/**
 * `gt swarm start app` of every issue over the three hosts, three polecats at most on each: the
 * swarm, and each issue's machine (the rig's home, w1, when none is recorded). Every issue is
 * dispatched, three on each host.
 */
export async function startSpreadSwarm(
  env: NodeJS.ProcessEnv,
  issues: string[],
): Promise<{ swarm: Swarm; machineOf: Map<string, string> }> {
  const swarm = await gtJson<Swarm>(
    [
      ...['swarm', 'start', 'app', '--issues', issues.join(','), '--agent', 'scripted'],
      ...['--machines', HOSTS.join(','), '--max-per-machine', '3'],
    ],
    { env, timeoutMs: 300_000 },
  );
  expect(swarm.issues.map((i) => i.error ?? '')).toEqual(issues.map(() => ''));
  const machineOf = new Map(swarm.issues.map((i) => [i.issue, i.machine || 'w1']));
  const perHost = HOSTS.map((m) => [...machineOf.values()].filter((x) => x === m).length);
  expect(perHost).toEqual([3, 3, 3]);
  return { swarm, machineOf };
}
