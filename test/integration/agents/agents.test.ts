// Scripted test agents and preset-driven delivery, in real tmux with real git.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  TmuxServer,
  deliverPrompt,
  resolveAgentPreset,
  startAgent,
  type AgentPreset,
} from '../../../node-agent/index.js';
import { git, makeBareRepo } from '../../helpers/git.js';
import { tempDirUnmanaged } from '../../helpers/tmp.js';
import { HOSTILE_TEXTS, readEchoRecord } from './echo.js';

const AGENTS = join(import.meta.dirname, '..', '..', 'agents');
const ECHO_AGENT = join(AGENTS, 'echo-agent.mjs');
const SCRIPTED_AGENT = join(AGENTS, 'scripted-agent.mjs');

let dir: string;
let tmux: TmuxServer;
let counter = 0;

beforeAll(() => {
  dir = tempDirUnmanaged('gt-agents-');
  tmux = TmuxServer.forTown(dir);
});

afterAll(async () => {
  await tmux.killServer();
  rmSync(dir, { recursive: true, force: true });
});

function customPreset(command: string[], extra: Record<string, unknown> = {}): AgentPreset {
  return resolveAgentPreset({
    role: 'polecat',
    requested: 'custom',
    town: {
      presets: { custom: { command, ready_pattern: '^> $', ready_timeout_ms: 15_000, ...extra } },
    },
  });
}

function session(base: string): string {
  counter += 1;
  const name = `gt-${base}-${counter}`;
  onTestFinished(async () => {
    await tmux.killSession(name);
  });
  return name;
}

describe('deliverPrompt with presets', () => {
  it('answers a safe trust prompt once, then delivers hostile text byte-exact', async () => {
    const record = join(dir, 'trust.jsonl');
    const preset = customPreset(
      [
        '/bin/sh',
        '-c',
        'echo "Do you trust the files in this folder?"; read answer; exec "$@"',
        'sh',
        process.execPath,
        ECHO_AGENT,
        record,
      ],
      {
        blocking_prompts: [
          { name: 'trust this folder', pattern: 'trust the files', answer: ['Enter'] },
        ],
      },
    );
    const name = session('trust');
    await startAgent(tmux, { session: name, cwd: dir, env: { GT_ROLE: 'polecat' }, preset });
    const text = HOSTILE_TEXTS.join(' | ').replace(/\n/g, ' ');
    const result = await deliverPrompt(tmux, name, preset, text);
    expect(result).toMatchObject({
      answered: ['trust this folder'],
      verified: true,
      enterRetried: false,
    });
    expect(await readEchoRecord(record, 1)).toEqual([{ n: 1, text }]);
  });

  it('surfaces a prompt a human must answer as GT_AGENT_BLOCKED', async () => {
    const preset = customPreset(
      ['/bin/sh', '-c', 'echo "Do you want to proceed? (y/n)"; sleep 60'],
      {
        blocking_prompts: [{ name: 'permission to proceed', pattern: 'want to proceed' }],
      },
    );
    const name = session('blocked');
    await startAgent(tmux, { session: name, cwd: dir, env: {}, preset });
    await expect(deliverPrompt(tmux, name, preset, 'hello')).rejects.toMatchObject({
      code: 'GT_AGENT_BLOCKED',
      message: expect.stringContaining('waiting for input: permission to proceed') as string,
    });
  });
});

describe('an agent that exits or stops at a screen before it is ready', () => {
  it('keeps the pane of an agent that exits at once: its last lines and exit code, then closes it', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('; echo ');
    const preset = customPreset([
      '/bin/sh',
      '-c',
      `echo ${lines}; echo "fatal: cannot reach the model service" >&2; exit 3`,
    ]);
    const name = session('exits');
    await startAgent(tmux, { session: name, cwd: dir, env: {}, preset });
    const err = (await deliverPrompt(tmux, name, preset, 'hello').catch((e: unknown) => e)) as {
      code: string;
      message: string;
      details: Record<string, unknown>;
    };
    expect(err.code).toBe('GT_TMUX_FAILED');
    expect(err.message).toContain(
      `session ${name}: the agent exited (exit code 3) before it was ready`,
    );
    expect(err.message).toContain('fatal: cannot reach the model service');
    expect(err.details).toMatchObject({ exited: true, exitCode: 3 });
    // The last 12 lines: line 10 to line 20 and the error (stderr shares the pane).
    const tail = String(err.details.lastPane).split('\n');
    expect(tail).toHaveLength(12);
    expect(tail[0]).toBe('line 10');
    expect(err.message).not.toContain('Pane is dead');
    expect(await tmux.hasSession(name)).toBe(false);
  });

  it('a blocking notice under the ready prompt wins; an agent that lives on exits normally later', async () => {
    const preset = customPreset(
      ['/bin/sh', '-c', 'printf "> \\n  Not logged in · run /login\\n"; read x; exit 0'],
      { blocking_prompts: [{ name: 'login', pattern: 'Not logged in' }] },
    );
    const name = session('login');
    await startAgent(tmux, { session: name, cwd: dir, env: {}, preset });
    await expect(deliverPrompt(tmux, name, preset, 'hello')).rejects.toMatchObject({
      code: 'GT_AGENT_BLOCKED',
      message: expect.stringContaining('waiting for input: login') as string,
    });
    // Not kept any more: when the agent ends, so does its session.
    expect(await tmux.paneExit(name)).toEqual({ dead: false, code: undefined });
    await tmux.sendKeys(name, ['Enter']);
    for (let i = 0; i < 100 && (await tmux.hasSession(name)); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await tmux.hasSession(name)).toBe(false);
  });
});

interface Polecat {
  name: string;
  clone: string;
  bare: string;
  agentLog: string;
  stubLog: string;
}

/** A polecat clone on its own branch, stub gt/bd binaries, and the scripted agent in tmux. */
async function startScriptedPolecat(
  mode: string,
  env: Record<string, string> = {},
): Promise<Polecat> {
  counter += 1;
  const root = join(dir, `rig-${counter}`);
  const bare = makeBareRepo(root);
  const clone = join(root, 'polecats', 'Nux');
  git(root, 'clone', '-q', bare, clone);
  git(clone, 'checkout', '-q', '-b', 'polecat/Nux');
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const stubLog = join(root, 'stub.log');
  for (const tool of ['gt', 'bd']) {
    const stub = join(bin, tool);
    writeFileSync(
      stub,
      `#!/bin/sh\nprintf '%s|%s|%s|%s\\n' ${tool} "$*" "$GT_ADDRESS" "$BEADS_DIR" >> "$STUB_LOG"\necho "${tool} ok"\n`,
    );
    chmodSync(stub, 0o755);
  }
  const agentLog = join(root, 'agent.jsonl');
  const preset = customPreset([process.execPath, SCRIPTED_AGENT]);
  const name = session(`rig-Nux-${mode}`);
  await startAgent(tmux, {
    session: name,
    cwd: clone,
    preset,
    env: {
      GT_ROLE: 'polecat',
      GT_RIG: 'rig',
      GT_POLECAT: 'Nux',
      GT_ADDRESS: 'rig/Nux',
      BEADS_DIR: join(root, '.beads'),
      BD_ACTOR: 'rig/Nux',
      GIT_AUTHOR_NAME: 'Nux',
      GIT_AUTHOR_EMAIL: 'nux@rig.invalid',
      GIT_COMMITTER_NAME: 'Nux',
      GIT_COMMITTER_EMAIL: 'nux@rig.invalid',
      GT_BIN: join(bin, 'gt'),
      BD_BIN: join(bin, 'bd'),
      STUB_LOG: stubLog,
      GT_TEST_AGENT_MODE: mode,
      GT_TEST_AGENT_LOG: agentLog,
      ...env,
    },
  });
  const assignment = [
    'You are polecat Nux of rig "rig".',
    'Issue: rig-12',
    'Title: Add the widget',
    'Done means: commit, push your branch, run `gt done`.',
  ].join('\n');
  await deliverPrompt(tmux, name, preset, assignment);
  return { name, clone, bare, agentLog, stubLog };
}

async function waitForEvent(
  log: string,
  event: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
    if (events.some((e) => e.event === event)) return events;
    if (Date.now() > deadline)
      throw new Error(`no "${event}" in ${log}: ${JSON.stringify(events)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('scripted agent', () => {
  it('parses the assignment, runs bd, commits, pushes its branch and runs gt done', async () => {
    const p = await startScriptedPolecat('normal');
    const events = await waitForEvent(p.agentLog, 'done');
    expect(events.find((e) => e.event === 'assignment')).toMatchObject({
      issue: 'rig-12',
      title: 'Add the widget',
    });
    const beads = join(p.clone, '..', '..', '.beads');
    expect(readFileSync(p.stubLog, 'utf8')).toBe(
      `bd|show rig-12 --json|rig/Nux|${beads}\ngt|done|rig/Nux|${beads}\n`,
    );
    expect(git(p.bare, 'log', '-1', '--format=%an %s', 'polecat/Nux')).toBe(
      'Nux rig-12: Add the widget',
    );
    expect(git(p.bare, 'show', 'polecat/Nux:work/rig-12.txt')).toContain(
      'Work on rig-12: Add the widget',
    );
    expect(git(p.clone, 'status', '--porcelain')).toBe('');
    expect(await tmux.capturePane(p.name)).toContain('DONE rig-12');
  });

  it('hang: starts the work and never finishes', async () => {
    const p = await startScriptedPolecat('hang');
    await waitForEvent(p.agentLog, 'hang');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await tmux.hasSession(p.name)).toBe(true);
    expect(readFileSync(p.stubLog, 'utf8')).not.toContain('gt|done');
    expect(git(p.clone, 'status', '--porcelain')).toBe('?? work/');
  });

  it('crash: exits non-zero mid-work and its session disappears', async () => {
    const p = await startScriptedPolecat('crash');
    await waitForEvent(p.agentLog, 'crash');
    const deadline = Date.now() + 10_000;
    while ((await tmux.hasSession(p.name)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await tmux.hasSession(p.name)).toBe(false);
    expect(git(p.clone, 'status', '--porcelain')).toBe('?? work/');
  });

  it('dirty: pushes, then leaves uncommitted and untracked files and still runs gt done', async () => {
    const p = await startScriptedPolecat('dirty');
    await waitForEvent(p.agentLog, 'done');
    const status = git(p.clone, 'status', '--porcelain').split('\n');
    expect(status.map((l) => l.trim()).sort()).toEqual([
      '?? work/untracked-notes.txt',
      'M work/rig-12.txt',
    ]);
    expect(git(p.bare, 'log', '-1', '--format=%s', 'polecat/Nux')).toBe('rig-12: Add the widget');
    expect(readFileSync(p.stubLog, 'utf8')).toContain('gt|done');
  });

  it('flood: floods the pane, still finishes, and the pane stays usable', async () => {
    const p = await startScriptedPolecat('flood', { GT_TEST_AGENT_FLOOD_LINES: '30000' });
    await waitForEvent(p.agentLog, 'done', 60_000);
    const tail = await tmux.capturePane(p.name, { lines: 100 });
    expect(tail).toContain('flood line 29999');
    const r = await tmux.typeText(p.name, 'a nudge without an issue');
    expect(r.verified).toBe(true);
    await waitForEvent(p.agentLog, 'prompt');
  });
});
