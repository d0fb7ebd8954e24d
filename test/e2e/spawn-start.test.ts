// How `gt spawn` starts an agent, seen from outside. An agent that exits before it is ready (a
// CLI refusing to run, or offline): `gt spawn` shows its last pane lines and exit code, the issue
// is open again, and the polecat is idle and is the one the next spawn reuses — nothing is left
// `stuck` holding the claim. As root, the claude preset sets IS_SANDBOX=1 and says so.
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
      `echo ${banner}; echo "Unable to connect to the model service" >&2; exit 3`,
    ],
    ready_pattern: '^> $',
    ready_timeout_ms: 20_000,
  };
  // The claude preset as it is built in, with a stand-in program: it shows what it was given.
  settings.presets.claude = {
    command: [
      '/bin/sh',
      '-c',
      'echo "sandbox=${IS_SANDBOX:-unset} args=$*"; printf "> "; while read l; do echo "got: $l"; done',
      'claude',
    ],
    ready_pattern: '^> $',
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
    expect(r.stderr).toContain(
      'alpha/Toast: session gt-alpha-Toast: the agent exited (exit code 3) before it was ready',
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

  it.skipIf(process.getuid?.() !== 0)(
    'as root, the claude preset runs with IS_SANDBOX=1 and gt spawn says so',
    async () => {
      const id = await createIssue(t, 'Root work');
      const r = await gt(['spawn', t.rig, '--issue', id, '--agent', 'claude', '--name', 'Slit'], {
        env: t.env,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        'note: running as root: set IS_SANDBOX=1 so Claude Code accepts --dangerously-skip-permissions',
      );
      const pane = await gt(['capture', 'alpha/Slit'], { env: t.env });
      expect(pane.stdout).toContain('sandbox=1');
    },
  );
});
