// A spawn killed mid-clone leaves its issue claimed by a polecat with no state: doctor reports the
// orphaned claim, `--fix` gives it back (open, unassigned), and spawning the issue again works.
import { spawn as spawnProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GT, gt } from '../helpers/cli.js';
import {
  createIssue,
  makeSessionTown,
  showIssue,
  spawn,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import { setWitnessConfig } from './witness-helpers.js';

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-orphan-');
  // No grace for "a spawn still cloning": the killed spawn below is reported at once.
  setWitnessConfig(t, { crash_grace_ms: 0 });
});

afterAll(async () => {
  await t.cleanup();
});

interface DoctorJson {
  findings: Array<{ check: string; status: string; message: string }>;
  fixed: string[];
}

async function doctor(fix = false): Promise<DoctorJson> {
  const r = await gt(['doctor', '--json', ...(fix ? ['--fix'] : [])], { env: t.env });
  return JSON.parse(r.stdout) as DoctorJson;
}

const orphanFindings = (d: DoctorJson) => d.findings.filter((f) => f.check === 'orphaned-claims');

/**
 * Start `gt spawn` whose `git fetch` hangs (an upload-pack that never answers, set through git's
 * environment config), wait until it is fetching, i.e. has claimed and cloned, and SIGKILL it.
 */
async function killSpawnMidClone(issue: string): Promise<void> {
  const marker = join(t.base, 'fetching');
  const hang = join(t.base, 'hang-upload-pack.sh');
  writeFileSync(hang, `#!/bin/sh\necho $$ > '${marker}'\nexec sleep 120\n`);
  chmodSync(hang, 0o755);
  const child = spawnProcess(
    process.execPath,
    [GT, 'spawn', t.rig, '--issue', issue, '--agent', 'scripted'],
    {
      env: {
        ...process.env,
        ...t.env,
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'remote.origin.uploadpack',
        GIT_CONFIG_VALUE_0: hang,
      },
      stdio: 'ignore',
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await until('the spawn to be fetching', () => {
      const pid = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '';
      return pid === '' ? undefined : pid;
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
    const pid = Number(existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '');
    if (pid > 0) process.kill(pid, 'SIGKILL');
  }
}

describe('orphaned claims', () => {
  it('doctor reports the claim of a spawn killed mid-clone; --fix gives it back; spawn works again', async () => {
    const id = await createIssue(t, 'Interrupted');
    await killSpawnMidClone(id);
    const home = join(t.town, 'alpha', 'polecats', 'Nux');
    // What the killed spawn left: the claim, a clone, no state.
    expect(await showIssue(t, id)).toMatchObject({ status: 'in_progress', assignee: 'alpha/Nux' });
    expect(existsSync(join(home, '.git'))).toBe(true);
    expect(existsSync(join(home, 'state.json'))).toBe(false);

    const before = await doctor();
    expect(orphanFindings(before)).toEqual([
      expect.objectContaining({
        status: 'error',
        message: `orphaned claim: ${id} is in_progress, assigned to alpha/Nux, which has no state (a spawn that did not finish)`,
      }),
    ]);
    const refused = await gt(['spawn', t.rig, '--issue', id, '--agent', 'scripted'], {
      env: t.env,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${id} is already claimed by alpha/Nux`);

    const fixed = await doctor(true);
    expect(fixed.fixed).toContain(
      `gave ${id} back (open, unassigned): alpha/Nux was not working on it`,
    );
    expect(await showIssue(t, id)).toMatchObject({ status: 'open' });
    expect((await showIssue(t, id)).assignee ?? '').toBe('');
    const after = await doctor();
    expect(orphanFindings(after).map((f) => f.status)).toEqual(['ok']);

    const again = await spawn(t, id, 'scripted');
    expect(again.issue).toBe(id);
    expect(await showIssue(t, id)).toMatchObject({
      status: 'in_progress',
      assignee: again.address,
    });
    expect(orphanFindings(await doctor()).map((f) => f.status)).toEqual(['ok']);
  });

  it('an idle polecat still named as assignee is an orphaned claim too', async () => {
    const id = await createIssue(t, 'Left behind');
    const r = await gt(['spawn', t.rig, '--issue', id, '--agent', 'scripted', '--name', 'Slit'], {
      env: t.env,
    });
    expect(r.code, r.stderr).toBe(0);
    await gt(['kill', 'alpha/Slit'], { env: t.env });
    // The polecat is made idle behind the tracker's back (an older --fix did exactly this).
    const stateFile = join(t.town, 'alpha', 'polecats', 'Slit', 'state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    const { issue: _i, ...rest } = state;
    writeFileSync(stateFile, JSON.stringify({ ...rest, state: 'idle' }));
    // Idle with its work in the merge queue (after gt done) is not orphaned: the refinery has it.
    const entry = join(t.town, 'alpha', 'refinery', 'queue', `${id}.json`);
    mkdirSync(dirname(entry), { recursive: true });
    writeFileSync(entry, '{}');
    expect(orphanFindings(await doctor()).map((f) => f.status)).toEqual(['ok']);
    rmSync(entry);
    expect(orphanFindings(await doctor()).map((f) => f.message)).toEqual([
      `orphaned claim: ${id} is in_progress, assigned to alpha/Slit, which is idle and holds no issue`,
    ]);
    await doctor(true);
    expect(await showIssue(t, id)).toMatchObject({ status: 'open' });
  });
});
