// The Witness loop under `gt up` (no manual patrol: a clean done is cleaned up by the daemon),
// and the seed's "stuck swarm" row: no progress for the stuck timeout → one escalation.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import {
  createIssue,
  inboxOf,
  makeSessionTown,
  spawn,
  tmuxSessions,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import { agentLogHas, mayorInbox, patrol, setWitnessConfig, stateOf } from './witness-helpers.js';

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-witness-up-');
});

afterAll(async () => {
  await gt(['down'], { env: t.env });
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

describe('witness loop and stuck swarms', () => {
  it('under gt up the patrol runs by itself: a clean done is cleaned up', async () => {
    setWitnessConfig(t, { patrol_interval_ms: 300, nudge_interval_ms: 3_600_000 });
    const up = await gt(['up'], { env: t.env });
    expect(up.code, up.stderr).toBe(0);
    const id = await createIssue(t, 'Done while the daemon watches');
    const s = await spawn(t, id, 'scripted', 'Nux');
    const witness = join(t.town, 'alpha', 'witness');
    await until('the daemon to clean up', () => {
      const read = inboxOf(witness).find((m) => m.from === s.address)?.read === true;
      return read && !tmuxSessions(t).includes(s.session) && stateOf(t, 'Nux').state === 'idle';
    });
    const down = await gt(['down'], { env: t.env });
    expect(down.code, down.stderr).toBe(0);
  });

  it('a swarm with no progress for the stuck timeout is escalated to the Mayor once', async () => {
    setWitnessConfig(t, { nudge_interval_ms: 3_600_000, stuck_timeout_ms: 1_000 });
    const hangs = await createIssue(t, 'Hangs');
    const s = await gtJson<{ id: string }>(
      ['swarm', 'start', t.rig, '--ready', '1', '--agent', 'scripted-hang', '--json'],
      { env: t.env },
    );
    await until('the agent to hang', () => agentLogHas(t, 'hang', hangs));
    await patrol(t); // first sight of the polecat: its progress clock starts now
    await new Promise((r) => setTimeout(r, 1_500));
    const first = await patrol(t);
    expect(first.actions).toContainEqual({
      address: 'mayor',
      kind: 'stuck-swarm',
      detail: `${s.id}: escalated`,
    });
    await patrol(t);
    const stuck = mayorInbox(t).filter((m) => m.cause === 'stuck-swarm');
    expect(stuck).toHaveLength(1);
    expect(String(stuck[0]?.subject)).toBe(`Escalation: swarm ${s.id} on alpha is stuck`);
  });
});
