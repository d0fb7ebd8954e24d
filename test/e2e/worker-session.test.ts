// gt and bd inside a session on a worker machine: one provisioned host (w1) and a rig homed on
// the Overseer's machine. A session's environment on w1 names only the node agent's socket; its
// `gt send mayor` lands in the Overseer's mayor inbox exactly once, its plain `bd ready` (the
// rig's DB is not on w1) and `bd --rig` answer from the rig's DB; with the town daemon stopped
// (no Attach stream) `gt send` says queued, and after `gt up` the message arrives once.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import { makeBareRepo } from '../helpers/git.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { startTestHosts, type TestHost, type TestHosts } from '../hosts/containers.js';

const TOWN_PATH = '/srv/gastown';

let town: string;
let fleet: TestHosts | undefined;
let w1: TestHost;
let env: NodeJS.ProcessEnv;

/** What a witness session of rig app on w1 gets (launch.ts agentEnv), and nothing else. */
const SESSION_ENV = [
  `GT_TOWN=${TOWN_PATH}`,
  'GT_ROLE=witness',
  'GT_RIG=app',
  'GT_ADDRESS=app/witness',
  'BD_ACTOR=app/witness',
  `BEADS_DIR=${TOWN_PATH}/app/.beads`,
  `GT_AGENT_SOCKET=${TOWN_PATH}/run/agent-gt.sock`,
];

/** Run the provisioned gt or bd on w1 in a session's environment (cwd /). */
async function inSession(tool: 'gt' | 'bd', args: string[]) {
  return w1.run([
    ...['env', '-i', 'PATH=/usr/bin:/bin', ...SESSION_ENV],
    ...[`${TOWN_PATH}/.gt/current/node`, `${TOWN_PATH}/.gt/current/${tool}.mjs`, ...args],
  ]);
}

async function mayorIds(subject: string): Promise<string[]> {
  const inbox = await gtJson<{ messages?: Array<{ id: string; subject: string }> }>(
    ['inbox', '--as', 'mayor', '--json'],
    { env },
  );
  return (inbox.messages ?? []).filter((m) => m.subject === subject).map((m) => m.id);
}

async function waitFor(what: string, probe: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const connected = async () =>
  (
    await gtJson<{ machines: Array<{ name: string; state: string }> }>(['machine', 'list'], {
      env,
    })
  ).machines.find((m) => m.name === 'w1')?.state === 'connected';

beforeAll(async () => {
  const base = tempDirUnmanaged('gt-ws-');
  town = join(base, 'town');
  mkdirSync(join(base, 'home'), { recursive: true });
  env = { GT_TOWN: town, HOME: join(base, 'home'), SSH_AUTH_SOCK: '' };
  const [installed, hosts] = await Promise.all([
    gt(['install', town]),
    startTestHosts(['w1'], join(base, 'keys')),
  ]);
  fleet = hosts;
  expect(installed.code).toBe(0);
  [w1] = hosts.hosts as [TestHost];
  const added = await gt(
    [
      ...['machine', 'add', 'w1', '--ssh', `root@${w1.host}:${w1.port}`],
      ...['--identity', hosts.clientKey, '--accept-host-key', '--town-path', TOWN_PATH],
    ],
    { env, timeoutMs: 300_000 },
  );
  expect({ code: added.code, stderr: added.stderr }).toMatchObject({ code: 0 });
  const rig = await gt(['rig', 'add', 'app', makeBareRepo(join(base, 'origin'))], { env });
  expect({ code: rig.code, stderr: rig.stderr }).toMatchObject({ code: 0 });
}, 400_000);

afterAll(async () => {
  await gt(['down'], { env }).catch(() => undefined);
  await fleet?.stop();
});

describe('gt and bd in a session on a worker machine', () => {
  it('mail reaches the Overseer machine once; bd works against the rig homed there; mail waits while the daemon is down', async () => {
    const up = await gt(['up'], { env });
    expect({ code: up.code, stderr: up.stderr }).toEqual({ code: 0, stderr: '' });
    await waitFor('w1 connected (heartbeats on the Attach stream)', connected);

    const sent = await inSession('gt', ['send', 'mayor', '-s', 'from w1', '-m', 'hello']);
    expect(sent).toMatchObject({ exitCode: 0 });
    expect(sent.output).toMatch(/^sent \S+ to mayor \(delivered\)/);
    expect(await mayorIds('from w1')).toHaveLength(1);
    // Not in w1's own mayor inbox (a one-machine town would have put it there).
    const own = await w1.run(['grep', '-c', 'from w1', `${TOWN_PATH}/mayor/mail/inbox.jsonl`]);
    expect(own.output.trim()).toBe('0');

    // Reads answer as on the Overseer's machine; administration is refused.
    const rigs = await inSession('gt', ['rigs']);
    expect(rigs).toMatchObject({ exitCode: 0 });
    expect(rigs.output).toMatch(/^app +app +local /m);
    const admin = await inSession('gt', ['rig', 'add', 'other', '/srv/none']);
    expect(admin.exitCode).toBe(1);
    expect(admin.output).toMatch(
      /^error: AddRig cannot be asked from a worker machine's session: only the Overseer runs it/m,
    );

    // bd: the rig's DB is on the Overseer's machine, not on w1.
    const created = await bd(['--rig', 'app', 'create', 'Filed by the Overseer', '--json'], {
      env,
    });
    expect(created.code).toBe(0);
    const issue = (JSON.parse(created.stdout) as { id: string }).id;
    const ready = await inSession('bd', ['ready']);
    expect(ready).toMatchObject({ exitCode: 0 });
    expect(ready.output).toContain(issue);
    const byRig = await inSession('bd', ['--rig', 'app', 'ready']);
    expect(byRig.output).toContain(issue);
    const missing = await inSession('bd', ['show', 'app-zzz']);
    expect(missing.exitCode).toBe(1);
    expect(missing.output).toMatch(/^error: /m);

    // The daemon stopped: no Attach stream. The mail waits on w1, then arrives once.
    expect((await gt(['down'], { env })).code).toBe(0);
    const held = await inSession('gt', ['send', 'mayor', '-s', 'held on w1', '-m', 'later']);
    expect(held).toMatchObject({ exitCode: 0 });
    expect(held.output).toMatch(
      /^queued \S+ for mayor \(coordinator not connected to machine w1\)/,
    );
    const waiting = await inSession('gt', ['mail', 'outbox']);
    const heldId = /^queued (\S+) for/.exec(held.output)?.[1] ?? '<none>';
    expect(waiting.output).toMatch(
      new RegExp(
        `^${heldId} +coordinator +mayor .* the coordinator is not connected to machine w1`,
        'm',
      ),
    );
    expect(await mayorIds('held on w1')).toEqual([]);

    expect((await gt(['up'], { env })).code).toBe(0);
    await waitFor('the held mail delivered', async () => (await mayorIds('held on w1')).length > 0);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await mayorIds('held on w1')).toEqual([heldId]);
    expect(await mayorIds('from w1')).toHaveLength(1);
    const empty = await inSession('gt', ['mail', 'outbox']);
    expect(empty.output).toMatch(/^outbox: empty/m);
  }, 300_000);
});
