// How `gt spawn` starts an agent, seen from outside. An agent that exits before it is ready (a
// CLI refusing to run, or offline): `gt spawn` shows its last pane lines and exit code, the issue
// is open again, and the polecat is idle and is the one the next spawn reuses — nothing is left
// `stuck` holding the claim. As root, the claude preset sets IS_SANDBOX=1 and says so.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import {
  createIssue,
  makeSessionTown,
  showIssue,
  spawn,
  tmuxSessions,
  type SessionTown,
} from './sessions-helpers.js';

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-spawnexit-');
  const file = join(t.town, 'config', 'agents.json');
  const settings = JSON.parse(readFileSync(file, 'utf8')) as {
    presets: Record<string, unknown>;
  };
  // Prints a banner of 15 lines and its reason, then exits 3, like a CLI that cannot start.
  const banner = Array.from({ length: 15 }, (_, i) => `banner ${i + 1}`).join('; echo ');
  settings.presets.refuses = {
    command: [
      '/bin/sh',
      '-c',
      `echo ${banner}; echo "Unable to connect to the model service" >&2; sleep 0.5; exit 3`,
    ],
    ready_pattern: '^> $',
    ready_timeout_ms: 20_000,
  };
  // The claude preset as it is built in, with a stand-in program: it shows what it was given.
  settings.presets.claude = {
    command: [
      '/bin/sh',
      '-c',
      'echo "sandbox=${IS_SANDBOX:-unset} ci=${CI:-unset} args=$*"; printf "> "; while read l; do echo "got: $l"; done',
      'claude',
    ],
    ready_pattern: '^> $',
  };
  // Draws its input box with a login notice under it, as Claude Code does when logged out.
  settings.presets['needs-login'] = {
    command: ['/bin/sh', '-c', 'printf "> \\n  Not logged in · run /login\\n"; sleep 600'],
    ready_pattern: '^> $',
    ready_timeout_ms: 20_000,
    blocking_prompts: [{ name: 'login', pattern: 'Not logged in' }],
  };
  // Shows an offline screen and waits there (its own exit would come later): a fatal screen.
  settings.presets['offline-screen'] = {
    command: ['/bin/sh', '-c', 'echo "Unable to reach the model service; retrying..."; sleep 600'],
    ready_pattern: '^> $',
    ready_timeout_ms: 20_000,
    blocking_prompts: [
      { name: 'offline', pattern: 'Unable to reach the model service', fatal: true },
    ],
  };
  writeFileSync(file, JSON.stringify(settings, null, 2));
});

afterAll(async () => {
  await t.cleanup();
});

interface PolecatsJson {
  polecats: Array<{
    status: { name: string; state: string; issue?: string; session_alive: boolean };
  }>;
}

describe('an agent that exits before it is ready', () => {
  it('fails the spawn with its words and exit code, gives the claim back, leaves the polecat idle', async () => {
    const id = await createIssue(t, 'Refused work');
    const r = await gt(['spawn', t.rig, '--issue', id, '--agent', 'refuses', '--name', 'Toast'], {
      env: t.env,
    });
    expect(r.code).not.toBe(0);
    // tmux 3.3 now and then never learns the status of a pane whose output ended first.
    expect(r.stderr).toMatch(
      /alpha\/Toast: session gt-alpha-Toast: the agent exited \((exit code 3|exit status unknown)\) before it was ready/,
    );
    expect(r.stderr).toContain('Unable to connect to the model service');
    expect(r.stderr).toContain('banner 15');
    expect(r.stderr).not.toContain('banner 4\n');
    expect(r.stderr).toContain(`${id} is open again and alpha/Toast is idle`);
    expect(await showIssue(t, id)).toMatchObject({ status: 'open' });
    expect((await showIssue(t, id)).assignee ?? '').toBe('');
    const rows = (await gtJson<PolecatsJson>(['polecats', t.rig], { env: t.env })).polecats;
    expect(rows.map((p) => p.status)).toEqual([
      expect.objectContaining({ name: 'Toast', state: 'idle', session_alive: false }),
    ]);
    expect(rows[0]?.status.issue ?? '').toBe('');
    expect(tmuxSessions(t)).not.toContain('gt-alpha-Toast');

    // The same issue, the next spawn: the idle polecat is reused and takes the assignment.
    const again = await spawn(t, id, 'scripted');
    expect(again).toMatchObject({ polecat: 'Toast', issue: id });
    expect(await showIssue(t, id)).toMatchObject({
      status: 'in_progress',
      assignee: 'alpha/Toast',
    });
  });

  it('an agent at a screen it does not come back from (fatal): the same, without waiting for its exit', async () => {
    const id = await createIssue(t, 'Offline work');
    const r = await gt(
      ['spawn', t.rig, '--issue', id, '--agent', 'offline-screen', '--name', 'Pox'],
      { env: t.env },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'alpha/Pox: session gt-alpha-Pox: the agent stopped at "offline" before it was ready',
    );
    expect(r.stderr).toContain('Unable to reach the model service; retrying...');
    expect(r.stderr).toContain(`${id} is open again and alpha/Pox is idle`);
    expect(await showIssue(t, id)).toMatchObject({ status: 'open' });
    const rows = (await gtJson<PolecatsJson>(['polecats', t.rig], { env: t.env })).polecats;
    expect(rows.find((p) => p.status.name === 'Pox')?.status).toMatchObject({
      state: 'idle',
      session_alive: false,
    });
    expect(tmuxSessions(t)).not.toContain('gt-alpha-Pox');
  });

  it.skipIf(process.getuid?.() !== 0)(
    'as root, the claude preset runs with IS_SANDBOX=1 and gt spawn says so; CI is not passed on',
    async () => {
      const id = await createIssue(t, 'Root work');
      // A tmux server started by gt under a CI runner has CI=true in its environment; the
      // agent's session is a terminal, so CI is not passed on to it.
      execFileSync('tmux', [
        '-S',
        join(t.town, 'run', 'tmux.sock'),
        'set-environment',
        '-g',
        'CI',
        'true',
      ]);
      const r = await gt(['spawn', t.rig, '--issue', id, '--agent', 'claude', '--name', 'Slit'], {
        env: { ...t.env, CI: 'true' },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        'note: running as root: set IS_SANDBOX=1 so Claude Code accepts --dangerously-skip-permissions',
      );
      const pane = await gt(['capture', 'alpha/Slit'], { env: t.env });
      expect(pane.stdout).toContain('sandbox=1 ci=unset');
    },
  );

  it('an agent stopped at a login screen: gt spawn, gt polecats and gt status say "waiting for input: login"', async () => {
    const id = await createIssue(t, 'Needs a login');
    const r = await gt(['spawn', t.rig, '--issue', id, '--agent', 'needs-login', '--name', 'Ace'], {
      env: t.env,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'alpha/Ace: the agent did not take its prompt: session gt-alpha-Ace is waiting for input: login',
    );
    const polecats = await gt(['polecats', t.rig], { env: t.env });
    expect(polecats.stdout).toMatch(/Ace\s+stuck \(waiting for input: login\)\s+al-\w+\s+alive/);
    const json = await gtJson<{
      polecats: Array<{ status: { name: string; waiting_for?: string } }>;
    }>(['polecats', t.rig], { env: t.env });
    expect(json.polecats.find((p) => p.status.name === 'Ace')?.status.waiting_for).toBe('login');
    const status = await gt(['status'], { env: t.env });
    expect(status.stdout).toMatch(/alpha\/Ace\s+polecat\s+stuck \(waiting for input: login\)/);
    // The session is there for a human to answer; when it ends, nothing is kept.
    expect(tmuxSessions(t)).toContain('gt-alpha-Ace');
  });
});
