// A town with one rig and agent presets for the scripted test agents, driven by the built gt/bd.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import { makeBareRepo } from '../helpers/git.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';

const AGENTS = join(import.meta.dirname, '..', 'agents');

export interface SessionTown {
  base: string;
  town: string;
  repo: string;
  rig: string;
  env: NodeJS.ProcessEnv;
  beadsEnv: NodeJS.ProcessEnv;
  agentLog: string;
  echoRecord: string;
  cleanup(): Promise<void>;
}

/** Presets the tests select with `gt spawn --agent`: the product only sees custom commands. */
function agentSettings(base: string): unknown {
  const node = process.execPath;
  const scripted = (mode: string) => ({
    command: [node, join(AGENTS, 'scripted-agent.mjs')],
    ready_pattern: '^> $',
    ready_timeout_ms: 20_000,
    env: { GT_TEST_AGENT_MODE: mode, GT_TEST_AGENT_LOG: join(base, 'agent.log') },
  });
  return {
    presets: {
      scripted: scripted('normal'),
      'scripted-hang': scripted('hang'),
      'scripted-dirty': scripted('dirty'),
      'scripted-crash': scripted('crash'),
      // Asks a y/n question before working: a prompt a human must answer, and one marked safe.
      'scripted-ask': {
        ...scripted('ask'),
        blocking_prompts: [{ name: 'allow command', pattern: 'Allow this command\\? \\(y/n\\)' }],
      },
      'scripted-ask-safe': {
        ...scripted('ask'),
        blocking_prompts: [
          { name: 'allow command', pattern: 'Allow this command\\? \\(y/n\\)', answer: ['Enter'] },
        ],
      },
      echo: {
        command: [node, join(AGENTS, 'echo-agent.mjs'), join(base, 'echo.jsonl')],
        ready_pattern: '^> $',
        ready_timeout_ms: 20_000,
      },
      // Reads (and drops) its assignment, then becomes an interactive shell: for `gt capture <cmd>`.
      shell: {
        command: [
          '/bin/sh',
          '-c',
          'printf "> "; while IFS= read -r l; do case "$l" in *"gt done"*) break;; esac; done; exec /bin/sh -i',
        ],
        env: { PS1: 'gt$ ', ENV: '/dev/null' },
        ready_pattern: '^> $',
        ready_timeout_ms: 20_000,
      },
    },
  };
}

export interface SessionTownOptions {
  /** Runs on the (not yet created) town dir before `gt install`, e.g. to mount a filesystem. */
  beforeInstall?: (town: string) => void;
}

export async function makeSessionTown(
  prefix: string,
  files?: Record<string, string>,
  options: SessionTownOptions = {},
): Promise<SessionTown> {
  const base = tempDirUnmanaged(prefix);
  const town = join(base, 'town');
  options.beforeInstall?.(town);
  const repo = makeBareRepo(join(base, 'repos', 'alpha'), {
    extraCommits: 1,
    ...(files === undefined ? {} : { files }),
  });
  const env = { GT_TOWN: town };
  expect((await gt(['install', town, '--name', 'sessions'])).code).toBe(0);
  const added = await gt(['rig', 'add', 'alpha', repo, '--prefix', 'al'], { env });
  expect(added.code, added.stderr).toBe(0);
  writeFileSync(join(town, 'config', 'agents.json'), JSON.stringify(agentSettings(base), null, 2));
  const beadsEnv = { BEADS_DIR: join(town, 'alpha', '.beads'), BD_ACTOR: 'overseer' };
  return {
    base,
    town,
    repo,
    rig: 'alpha',
    env,
    beadsEnv,
    agentLog: join(base, 'agent.log'),
    echoRecord: join(base, 'echo.jsonl'),
    cleanup: async () => {
      try {
        execFileSync('tmux', ['-S', join(town, 'run', 'tmux.sock'), 'kill-server'], {
          stdio: 'ignore',
        });
      } catch {
        /* no server */
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export async function createIssue(
  t: SessionTown,
  title: string,
  description = '',
): Promise<string> {
  const r = await bd(
    ['create', title, ...(description === '' ? [] : ['-d', description]), '--json'],
    { env: t.beadsEnv },
  );
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }).id;
}

export async function showIssue(
  t: SessionTown,
  id: string,
): Promise<{ status: string; assignee?: string }> {
  const r = await bd(['show', id, '--json'], { env: t.beadsEnv });
  expect(r.code, r.stderr).toBe(0);
  const parsed = JSON.parse(r.stdout) as unknown;
  return (Array.isArray(parsed) ? parsed[0] : parsed) as { status: string; assignee?: string };
}

export interface SpawnJson {
  address: string;
  polecat: string;
  session: string;
  branch: string;
  epoch: string;
  issue: string;
}

export function spawn(
  t: SessionTown,
  issue: string,
  agent: string,
  name?: string,
): Promise<SpawnJson> {
  return gtJson<SpawnJson>(
    [
      'spawn',
      t.rig,
      '--issue',
      issue,
      '--agent',
      agent,
      ...(name === undefined ? [] : ['--name', name]),
    ],
    { env: t.env },
  );
}

export function inboxOf(home: string): Array<Record<string, unknown>> {
  const file = join(home, 'mail', 'inbox.jsonl');
  if (!existsSync(file)) return [];
  // Read while agents append: a line being written is skipped (the next poll sees it whole).
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function tmuxSessions(t: SessionTown): string[] {
  try {
    return execFileSync(
      'tmux',
      ['-S', join(t.town, 'run', 'tmux.sock'), 'list-sessions', '-F', '#{session_name}'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

export function tmuxPanePid(t: SessionTown, session: string): string | undefined {
  try {
    return execFileSync(
      'tmux',
      [
        '-S',
        join(t.town, 'run', 'tmux.sock'),
        'list-panes',
        '-t',
        `=${session}:`,
        '-F',
        '#{pane_pid}',
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).trim();
  } catch {
    return undefined;
  }
}
