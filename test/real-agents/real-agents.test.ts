// The real agent CLIs (pinned in test/real-agents/package.json), each started by `gt spawn` in a
// network namespace with only a loopback device (`unshare -n`: the tmux server the spawn starts,
// and so the agent, live in it), with a fresh HOME: what `gt spawn`, `gt polecats` and
// `gt status` say at each CLI's first screens. Nothing here can reach the network.
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  mkdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GT, gt, gtJson, type RunResult } from '../helpers/cli.js';
import {
  createIssue,
  makeSessionTown,
  showIssue,
  type SessionTown,
} from '../e2e/sessions-helpers.js';

const BIN = join(import.meta.dirname, 'node_modules', '.bin');
const missing = ['claude', 'codex', 'gemini'].filter((c) => !existsSync(join(BIN, c)));

// As root a plain network namespace; otherwise inside a user namespace (root there, mapped).
const UNSHARE = process.getuid?.() === 0 ? ['-n'] : ['-r', '-n'];

function unshareProblem(): string | undefined {
  try {
    execFileSync('unshare', [...UNSHARE, '--', 'true'], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `unshare ${UNSHARE.join(' ')} is not permitted here (${String(err).split('\n')[0]})`;
  }
}

const skipReason =
  missing.length > 0
    ? `the real CLIs are not installed (${missing.join(', ')} missing from ${BIN}; run test/real-agents/install.sh)`
    : unshareProblem();
if (skipReason !== undefined) console.warn(`real-agents suite skipped: ${skipReason}`);

interface Run {
  t: SessionTown;
  env: NodeJS.ProcessEnv;
  issue: string;
  spawn: RunResult;
  /** The network namespace of the agent's pane (`net:[inode]`). */
  netns: string | undefined;
}

let current: Run | undefined;

/**
 * The environment of gt under a CI runner: CI=true (which makes Gemini CLI run headless and exit
 * instead of showing its first screens) reaches the town's tmux server, and gt must keep it out
 * of the agents' sessions (NOT_FOR_AGENTS). A runner's other GITHUB_* variables are dropped.
 */
function interactiveEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('GITHUB_')) delete env[name];
  return { ...env, CI: 'true' };
}

/** `gt spawn` inside a new network namespace: the town's tmux server starts there. */
function spawnOffline(env: NodeJS.ProcessEnv, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      'unshare',
      [...UNSHARE, '--', process.execPath, GT, 'spawn', ...args],
      { env: { ...interactiveEnv(), NO_COLOR: '1', ...env }, timeout: 280_000, maxBuffer: 1 << 24 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function tmuxOf(t: SessionTown, ...args: string[]): string {
  try {
    return execFileSync('tmux', ['-S', join(t.town, 'run', 'tmux.sock'), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return '';
  }
}

/** Start `agent` for a new issue with a fresh HOME (seeded with `homeFiles`), offline. */
async function startOffline(agent: string, homeFiles: Record<string, string> = {}): Promise<Run> {
  const t = await makeSessionTown(`gt-real-${agent}-`);
  const home = join(t.base, 'home');
  mkdirSync(home, { recursive: true });
  for (const [file, body] of Object.entries(homeFiles)) writeFileSync(join(home, file), body);
  const env = { ...t.env, HOME: home, PATH: `${BIN}:${process.env.PATH ?? ''}` };
  // The built-in preset, not the test presets of the session town.
  writeFileSync(join(t.town, 'config', 'agents.json'), '{}');
  const issue = await createIssue(t, `Work for ${agent}`);
  const run: Run = { t, env, issue, spawn: { code: -1, stdout: '', stderr: '' }, netns: undefined };
  current = run;
  const pending = spawnOffline(env, [t.rig, '--issue', issue, '--agent', agent, '--name', 'Nux']);
  // While it starts: the pane's process is in a namespace of its own, with only `lo`.
  for (let i = 0; i < 600 && run.netns === undefined; i++) {
    const pid = tmuxOf(t, 'list-panes', '-a', '-F', '#{pane_pid}').trim().split('\n')[0];
    if (pid !== undefined && pid !== '') {
      try {
        run.netns = readlinkSync(`/proc/${pid}/ns/net`);
        const devices = readFileSync(`/proc/${pid}/net/dev`, 'utf8')
          .split('\n')
          .slice(2)
          .map((l) => l.split(':')[0]?.trim())
          .filter((d) => d !== undefined && d !== '');
        expect(devices).toEqual(['lo']);
      } catch (err) {
        if (!String(err).includes('ENOENT')) throw err;
      }
    }
    if (run.netns === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  run.spawn = await pending;
  expect(run.netns).toBeDefined();
  expect(run.netns).not.toBe(readlinkSync('/proc/self/ns/net'));
  return run;
}

/** Kill the town's tmux server, then every process left in the agent's namespace (daemons). */
function killEverything(run: Run): void {
  tmuxOf(run.t, 'kill-server');
  if (run.netns === undefined) return;
  for (let round = 0; round < 20; round++) {
    const left = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readlinkSync(`/proc/${p}/ns/net`) === run.netns;
        } catch {
          return false;
        }
      })
      .map(Number);
    if (left.length === 0) return;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    execFileSync('sleep', ['0.2']);
  }
}

afterEach(async () => {
  if (current === undefined) return;
  killEverything(current);
  await current.t.cleanup();
  current = undefined;
});

interface PolecatsJson {
  polecats: Array<{
    status: { name: string; state: string; waiting_for?: string; session_alive: boolean };
  }>;
}

async function polecat(run: Run) {
  const rows = (await gtJson<PolecatsJson>(['polecats', run.t.rig], { env: run.env })).polecats;
  return rows.find((p) => p.status.name === 'Nux')?.status;
}

/** What `gt spawn`, `gt polecats` and `gt status` say for an agent stopped at `screen`. */
async function expectWaiting(run: Run, screen: string): Promise<void> {
  expect(run.spawn.code, run.spawn.stdout).not.toBe(0);
  expect(run.spawn.stderr).toContain(`session gt-alpha-Nux is waiting for input: ${screen}`);
  expect(await polecat(run)).toMatchObject({
    state: 'stuck',
    waiting_for: screen,
    session_alive: true,
  });
  const polecats = await gt(['polecats', run.t.rig], { env: run.env });
  expect(polecats.stdout).toContain(`stuck (waiting for input: ${screen})`);
  const status = await gt(['status'], { env: run.env });
  expect(status.stdout).toMatch(
    new RegExp(
      `alpha/Nux\\s+polecat\\s+stuck \\(waiting for input: ${screen.replace(/[()]/g, '\\$&')}\\)`,
    ),
  );
}

const asRoot = process.getuid?.() === 0;
const CLAUDE_ONBOARDED = JSON.stringify({ hasCompletedOnboarding: true, theme: 'dark' });

describe.skipIf(skipReason !== undefined)('real agents, offline, started by gt spawn', () => {
  it('claude, fresh HOME: it cannot reach Anthropic and exits; the spawn says so and gives the issue back', async () => {
    const run = await startOffline('claude');
    expect(run.spawn.code).not.toBe(0);
    expect(run.spawn.stderr).toContain('Unable to connect to Anthropic services');
    // As root it got as far as that only because IS_SANDBOX=1 was set.
    if (asRoot) expect(run.spawn.stderr).not.toContain('cannot be used with root/sudo privileges');
    // Claude shows the offline screen, then exits: whichever gt spawn sees first, the start
    // fails with its words (the offline screen is fatal in the preset). tmux 3.3 does not always
    // report the exit status of a pane that exits at once.
    expect(run.spawn.stderr).toMatch(
      /alpha\/Nux: session gt-alpha-Nux: the agent (exited \((exit code 1|exit status unknown)\)|stopped at "offline \(Unable to connect to Anthropic services\)") before it was ready/,
    );
    expect(await polecat(run)).toMatchObject({ state: 'idle', session_alive: false });
    expect((await gt(['status'], { env: run.env })).stdout).toMatch(/alpha\/Nux\s+polecat\s+idle/);
    expect(await showIssue(run.t, run.issue)).toMatchObject({ status: 'open' });
  });

  // Claude draws its trust menu before it reads keys: the answer moves the marker key by key,
  // checked on the pane (answerPrompt), so a dropped key is sent again.
  it('claude, onboarded HOME: the trust check is answered, the bypass-permissions warning waits for a human', async () => {
    const run = await startOffline('claude', { '.claude.json': CLAUDE_ONBOARDED });
    await expectWaiting(run, 'accept bypass-permissions mode');
    const pane = tmuxOf(run.t, 'capture-pane', '-p', '-t', '=gt-alpha-Nux:');
    expect(pane).toContain('Bypass Permissions mode');
    expect(pane).not.toContain('Quick safety check');
  });

  it('codex, fresh HOME: its sign-in choice is "waiting for input: login"', async () => {
    const run = await startOffline('codex');
    await expectWaiting(run, 'login');
    expect(tmuxOf(run.t, 'capture-pane', '-p', '-t', '=gt-alpha-Nux:')).toContain(
      'Sign in with ChatGPT',
    );
  });

  it('gemini, fresh HOME: the folder is trusted, then its auth choice is "waiting for input: login"', async () => {
    const run = await startOffline('gemini');
    await expectWaiting(run, 'login');
    const trusted = readFileSync(
      join(run.env.HOME ?? '', '.gemini', 'trustedFolders.json'),
      'utf8',
    );
    expect(trusted).toContain(join(run.t.town, 'alpha', 'polecats', 'Nux'));
  });
});
