// A clone whose `git status` fails (a corrupt .git/index): the answer is unknown, not "clean" or
// "no change". `gt stop` says it could not check the unsaved work; the Witness neither nudges nor
// escalates on it, and says why in its patrol report.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import {
  createIssue,
  makeSessionTown,
  spawn,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import {
  agentLogHas,
  mayorInbox,
  patrol,
  polecatHome,
  setWitnessConfig,
} from './witness-helpers.js';

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-gitunknown-');
  // Nudge on every patrol without progress, escalate after 1: an unknown must trigger neither.
  setWitnessConfig(t, { nudge_interval_ms: 0, max_nudges: 1, stuck_timeout_ms: 3_600_000 });
});

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

const corruptIndex = (name: string) =>
  writeFileSync(join(polecatHome(t, name), '.git', 'index'), 'not an index');

describe('a clone whose git status fails', () => {
  it('the witness reports the git state as unknown and does not count it as no progress', async () => {
    const id = await createIssue(t, 'Hang with a broken index');
    const s = await spawn(t, id, 'scripted-hang', 'Nux');
    await until('the agent to hang', () => agentLogHas(t, 'hang', id));
    corruptIndex('Nux');
    const reports = [];
    for (let i = 0; i < 4; i++) reports.push(await patrol(t));
    const mine = reports.map((r) => r.actions.filter((a) => a.address === s.address));
    for (const actions of mine) {
      expect(actions.map((a) => a.kind)).toEqual(['unchecked']);
      expect(actions[0]?.detail).toMatch(/^could not read its clone's git state: .*index/);
    }
    expect(mayorInbox(t).filter((m) => m.type === 'escalation')).toEqual([]);
  });

  it('gt stop says it could not check the unsaved work instead of reporting none', async () => {
    const r = await gt(['stop', '--all'], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    const clone = polecatHome(t, 'Nux');
    expect(r.stderr).toMatch(
      new RegExp(
        `^warning: alpha/Nux: could not check unsaved work in ${clone} \\(kept\\): .*index`,
        'm',
      ),
    );
    const json = await gtJson<{
      stopped: Array<{ address: string; dirty: string[]; unsaved_unknown: string }>;
    }>(['stop', '--all'], { env: t.env });
    const nux = json.stopped.find((x) => x.address === 'alpha/Nux');
    expect(nux?.dirty ?? []).toEqual([]);
    expect(nux?.unsaved_unknown).toMatch(/index/);
  });
});
