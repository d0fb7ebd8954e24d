// gt machine drain: no new polecats on a draining machine (gt spawn and gt swarm start refused,
// naming the undo) while what runs there goes on; gt machine list shows it; --undo ends it. An
// unknown machine is a usage error naming the known ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import {
  createIssue,
  makeSessionTown,
  spawn,
  tmuxSessions,
  type SessionTown,
} from './sessions-helpers.js';

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-drain-');
});

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

describe('gt machine drain', () => {
  it('refuses new polecats while the running ones go on; list shows it; --undo ends it', async () => {
    const running = await spawn(t, await createIssue(t, 'Already running'), 'scripted-hang');
    const drained = await gt(['machine', 'drain', 'local'], { env: t.env });
    expect({ code: drained.code, stderr: drained.stderr }).toEqual({ code: 0, stderr: '' });
    expect(drained.stdout).toContain('local: draining — no new polecats are placed there');

    const issue = await createIssue(t, 'Not now');
    const refused = await gt(['spawn', t.rig, '--issue', issue, '--agent', 'scripted'], {
      env: t.env,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'machine local is draining: no new polecats are placed there (the running ones finish)',
    );
    expect(refused.stderr).toContain('gt machine drain local --undo');
    const swarm = await gt(['swarm', 'start', t.rig, '--issues', issue, '--agent', 'scripted'], {
      env: t.env,
    });
    expect(swarm.code).toBe(1);
    expect(swarm.stderr).toContain('machine local is draining');
    expect(tmuxSessions(t)).toContain(running.session); // what runs there goes on

    const list = await gtJson<{ machines: Array<{ name: string; draining?: boolean }> }>(
      ['machine', 'list'],
      { env: t.env },
    );
    expect(list.machines.find((m) => m.name === 'local')?.draining).toBe(true);
    expect((await gt(['machine', 'list'], { env: t.env })).stdout).toMatch(
      /local\s.*connected, draining/,
    );

    const undone = await gt(['machine', 'drain', 'local', '--undo'], { env: t.env });
    expect(undone.stdout).toContain('local: no longer draining');
    const now = await spawn(t, issue, 'scripted');
    expect(now.issue).toBe(issue);
  });

  it('an unknown machine is a usage error naming the known ones', async () => {
    const r = await gt(['machine', 'drain', 'nosuch'], { env: t.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no machine named "nosuch" in config/federation.json');
    expect(r.stderr).toContain('known machines: local');
  });
});
