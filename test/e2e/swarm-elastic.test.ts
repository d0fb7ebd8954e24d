// An elastic swarm end to end: the rig homed on the coordinator's machine, its origin on the git
// server container (key-authenticated ssh, the town's git identity), a template whose machines
// carry the only label the swarm accepts, so the fleet has no room for it; `gt swarm start
// --ready 6 --grow gcp:wk --max-machines 2 --shrink-after 5s` under the town daemon grows two
// machines (bare test-host containers created by the fake Compute API, provisioned over SSH) and
// places three polecats on each as it comes up: the fake holds wk-2's creation, and wk-1's
// polecats are working while `gt swarm status` shows wk-2 being created and three issues waiting
// for it; then wk-2 is let through and gets the other three. Each commits, pushes its branch to the git server and says
// `gt done`; the home's refinery merges all six into main on the server; the swarm completes;
// the daemon's shrink loop deletes both machines (containers gone, federation.json clean) and
// the Mayor hears the machine-minutes — but only after an untracked file left in a polecat's
// clone on wk-1 is gone: until then git there keeps wk-1 (the dry run, the daemon's log and a
// Mayor mail say why) while wk-2 is deleted. The agent on the grown machines is a stand-in for aider
// (an `aider` script the fake puts on each instance), nothing else is faked but the cloud API.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bd, gt } from '../helpers/cli.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { startFakeCompute, type FakeCompute } from '../hosts/fake-compute.js';
import { startGitServer, type GitServer } from '../hosts/git-server.js';

const execFileP = promisify(execFile);

// The stand-in agent: ready prompt, then on its assignment a commit of its own file, a push of
// its branch to origin and `gt done`.
const AGENT = `#!/bin/sh
printf 'aider> '
read prompt
n=$(basename "$PWD")
printf '%s\\n' "$n" > "work-$n.txt"
git add "work-$n.txt"
git -c user.name=polecat -c user.email=polecat@test commit -q -m "work of $n"
git push -q -u origin HEAD && gt done
exec cat
`;

let base = '';
let town = '';
let env: NodeJS.ProcessEnv;
let fake: FakeCompute | undefined;
let server: GitServer | undefined;

beforeAll(async () => {
  base = tempDirUnmanaged('gt-elastic-');
  town = join(base, 'town');
  mkdirSync(join(base, 'home'), { recursive: true });
  const [installed, f, git] = await Promise.all([
    gt(['install', town]),
    startFakeCompute(join(base, 'compute-keys'), {
      files: [{ content: AGENT, target: '/usr/local/bin/aider', mode: 0o755 }],
    }),
    startGitServer(join(base, 'git-keys')),
  ]);
  expect(installed.code).toBe(0);
  fake = f;
  server = git;
  env = {
    GT_TOWN: town,
    HOME: join(base, 'home'),
    SSH_AUTH_SOCK: '',
    GOOGLE_APPLICATION_CREDENTIALS: f.keyFile,
    GT_GCP_ENDPOINT: f.endpoint,
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: '127.0.0.1:9',
    GT_REFINERY_INTERVAL_MS: '1000',
    GT_SHRINK_INTERVAL_MS: '500',
  };
  const hosts = join(base, 'git-keys', 'origin_known_hosts');
  writeFileSync(hosts, `${git.hostKnownHostsLine}\n${git.localKnownHostsLine}\n`);
  const set = await gt(['git-identity', 'set', git.deployKey, '--known-hosts', hosts], { env });
  expect(set.code, set.stderr).toBe(0);
  const rig = await gt(['rig', 'add', 'app', git.hostUrl, '--prefix', 'app'], { env });
  expect(rig.code, rig.stderr).toBe(0);
  const template = await gt(
    [
      ...['machine', 'template', 'add', 'wk', '--gcp', 'gastown-test/us-central1-a'],
      ...['--max-polecats', '3', '--label', 'pool=grow'],
    ],
    { env },
  );
  expect(template.code, template.stderr).toBe(0);
  for (let i = 1; i <= 6; i++) {
    const r = await bd(['--rig', 'app', 'create', `Elastic work ${i}`, '-p', '1', '--json'], {
      env,
    });
    expect(r.code, r.stderr).toBe(0);
  }
}, 400_000);

afterAll(async () => {
  if (town !== '') await gt(['down'], { env }).catch(() => undefined);
  await Promise.allSettled([fake?.stop(), server?.stop()]);
});

async function containerState(id: string): Promise<string> {
  try {
    return (await execFileP('docker', ['inspect', '-f', '{{.State.Status}}', id])).stdout.trim();
  } catch {
    return 'gone';
  }
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

const machinesOf = (): string[] =>
  Object.keys(
    (
      JSON.parse(readFileSync(join(town, 'config', 'federation.json'), 'utf8')) as {
        machines: Record<string, unknown>;
      }
    ).machines,
  );

describe('an elastic swarm of 6 issues', () => {
  it('grows 2 machines from 0, merges everything on the git server, then shrinks them away', async () => {
    // The daemon's shrink loop waits until the swarm is over (it is started again below).
    const up = await gt(['up'], { env: { ...env, GT_SHRINK_INTERVAL_MS: '600000' } });
    expect(up.code, up.stderr).toBe(0);
    // wk-2 is slow: its instance is not created until the test lets it.
    fake?.hold('wk-2');
    const starting = gt(
      [
        ...['swarm', 'start', 'app', '--ready', '6', '--label', 'pool=grow', '--agent', 'aider'],
        ...['--grow', 'gcp:wk', '--max-machines', '2', '--shrink-after', '5s', '--json'],
      ],
      { env, timeoutMs: 300_000 },
    );
    let finished = false;
    void starting.finally(() => (finished = true));
    type Status = { swarms: Array<{ issues: Array<{ machine: string; polecat: string }> }> };
    const early = await until('polecats on wk-1 while wk-2 is created', 240_000, async () => {
      if (finished) throw new Error(`swarm start ended first: ${(await starting).stderr}`);
      const s = await gt(['swarm', 'status', '--json'], { env });
      const issues = (JSON.parse(s.stdout) as Status).swarms[0]?.issues ?? [];
      return issues.filter((i) => i.machine === 'wk-1' && i.polecat !== '').length === 3
        ? issues
        : undefined;
    });
    expect(early.filter((i) => i.polecat === '')).toHaveLength(3);
    expect(fake?.instance('wk-2')?.container).toBe('');
    expect(machinesOf()).not.toContain('wk-2');
    const text = await gt(['swarm', 'status'], { env });
    expect(text.stdout).toMatch(/creating machine wk-2 \(gcp:wk\): create instance/);
    expect(text.stdout).not.toMatch(/creating machine wk-1/);
    expect(text.stdout.match(/waiting for a machine/g)).toHaveLength(3);
    fake?.release('wk-2');
    const started = await starting;
    const swarm = JSON.parse(started.stdout) as {
      id: string;
      issues: Array<{ issue: string; machine: string; error: string; address: string }>;
      notes: string[];
    };
    expect(swarm.notes).toContain('grew wk-1, wk-2 from gcp:wk');
    expect(
      swarm.issues.map((i) => i.error),
      started.stdout,
    ).toEqual(['', '', '', '', '', '']);
    const per = new Map<string, number>();
    for (const i of swarm.issues) per.set(i.machine, (per.get(i.machine) ?? 0) + 1);
    expect(Object.fromEntries(per)).toEqual({ 'wk-1': 3, 'wk-2': 3 });
    const containers = ['wk-1', 'wk-2'].map((n) => fake?.instance(n)?.container ?? '');

    await until('the swarm complete', 300_000, async () => {
      const s = await gt(['swarm', 'status', swarm.id, '--json'], { env });
      const state = (JSON.parse(s.stdout) as { swarms: Array<{ state: string }> }).swarms[0]?.state;
      return state === 'complete' ? state : undefined;
    });
    const log = await server?.git(['log', '--format=%s', 'main']);
    expect(log?.split('\n').filter((l) => l.startsWith('work of '))).toHaveLength(6);

    // Work left in a polecat's clone on wk-1 (an untracked file; its state says idle): git
    // there keeps wk-1 past the swarm's end, while wk-2 goes.
    const name = swarm.issues.find((i) => i.machine === 'wk-1')?.address.split('/')[1] ?? '';
    const townPath = (
      JSON.parse(readFileSync(join(town, 'config', 'federation.json'), 'utf8')) as {
        machines: Record<string, { town_path: string }>;
      }
    ).machines['wk-1']?.town_path;
    const clone = `${townPath ?? '?'}/app/polecats/${name}`;
    const inClone = (script: string) =>
      execFileP('docker', [
        'exec',
        '-u',
        'gastown',
        containers[0] ?? '',
        'sh',
        '-c',
        script,
        'sh',
        clone,
      ]);
    // Once the Witness there has taken its polecats' done (sessions gone, polecats idle).
    await until('the polecats on wk-1 cleaned up', 120_000, async () => {
      const r = await gt(['machine', 'shrink', '--dry-run'], { env });
      return /(kept|due) wk-1: (idle|unpushed)/.test(r.stdout) ? true : undefined;
    });
    await inClone('printf "notes\\n" > "$1/notes.txt"');
    expect((await gt(['down'], { env })).code).toBe(0);
    const again = await gt(['up'], { env });
    expect(again.code, again.stderr).toBe(0);
    await until('wk-2 deleted', 120_000, async () =>
      machinesOf().includes('wk-2') ? undefined : true,
    );
    let last = '';
    const held = await until('wk-1 kept for its unpushed work', 60_000, async () => {
      const r = await gt(['machine', 'shrink', '--dry-run'], { env });
      last = r.stdout + r.stderr;
      return /kept wk-1: unpushed work/.test(r.stdout) ? r.stdout : undefined;
    }).catch((e: unknown) => {
      throw new Error(`${String(e)}; last dry run: ${last}`);
    });
    expect(held).toContain(
      `kept wk-1: unpushed work: app/${name} (1 uncommitted or untracked file(s)); swarm ${swarm.id} is over: kept until it is pushed`,
    );
    const inbox = join(town, 'mayor', 'mail', 'inbox.jsonl');
    await until('the mayor told why wk-1 stays', 30_000, async () =>
      existsSync(inbox) &&
      readFileSync(inbox, 'utf8').includes('grown machine wk-1 kept: unpushed work')
        ? true
        : undefined,
    );
    expect(readFileSync(join(town, 'run', 'coordinator.log'), 'utf8')).toMatch(
      /"machine":"wk-1".*"msg":"shrink: kept, unpushed work"|"msg":"shrink: kept, unpushed work".*"machine":"wk-1"/,
    );
    await inClone('rm "$1/notes.txt"');
    await until('the grown machines deleted', 120_000, async () =>
      machinesOf().some((m) => m.startsWith('wk-')) ? undefined : true,
    );
    expect(machinesOf()).toEqual(['local']);
    // The instance's delete operation may still be running when federation.json lets it go.
    for (const c of containers)
      await until(`container ${c} gone`, 60_000, async () =>
        (await containerState(c)) === 'gone' ? true : undefined,
      );
    await until('the mayor told the machine-minutes', 30_000, async () =>
      existsSync(inbox) &&
      readFileSync(inbox, 'utf8').includes(`swarm ${swarm.id}: grown machines deleted`)
        ? true
        : undefined,
    );
  });
});
