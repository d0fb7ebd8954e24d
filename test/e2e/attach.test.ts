// gt attach: an interactive terminal on an agent's session (here, a pseudo-terminal made by
// script(1)): the pane is there, detaching (Ctrl-b d) ends gt attach and leaves the agent
// running. Without a terminal, or for an agent that does not exist, it says what to do instead.
import { spawn as spawnProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GT, gt } from '../helpers/cli.js';
import {
  createIssue,
  makeSessionTown,
  spawn,
  tmuxSessions,
  until,
  type SessionTown,
} from './sessions-helpers.js';

let t: SessionTown;
let session = '';

beforeAll(async () => {
  t = await makeSessionTown('gt-attach-');
  const issue = await createIssue(t, 'Work to watch');
  session = (await spawn(t, issue, 'shell', 'Nux')).session;
  await until('the shell prompt', async () =>
    /gt\$ $/m.test((await gt(['capture', 'alpha/Nux'], { env: t.env })).stdout),
  );
  const marked = await gt(['capture', 'alpha/Nux', 'echo MARK-$((6*7))'], { env: t.env });
  expect(marked.stdout).toContain('MARK-42');
});

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

describe('gt attach', () => {
  it('shows the pane on a terminal; Ctrl-b d detaches and the agent goes on', async () => {
    const child = spawnProcess(
      'script',
      ['-qfec', `${process.execPath} ${GT} attach alpha/Nux`, '/dev/null'],
      { env: { ...t.env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    await until('the pane on the terminal', () => out.includes('MARK-42'), 20_000);
    expect(out).toContain(`attaching to alpha/Nux (session ${session} on local)`);
    child.stdin.write('\x02d'); // tmux prefix, then d
    expect(await exited).toBe(0);
    expect(out).toMatch(/\[detached \(from session /);
    expect(tmuxSessions(t)).toContain(session);
  });

  it('without a terminal it says so and names gt capture (exit 2)', async () => {
    const r = await gt(['attach', 'alpha/Nux'], { env: t.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('gt attach needs a terminal');
    expect(r.stderr).toContain('gt capture <agent>');
  });

  it('an agent that does not exist, or a machine that does not run it, is named', async () => {
    const none = await gt(['attach', 'alpha/Nobody'], { env: t.env });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no agent alpha/Nobody in the town');
    const wrong = await gt(['attach', 'elsewhere:alpha/Nux'], { env: t.env });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/elsewhere/);
  });
});
