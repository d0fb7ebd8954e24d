// The doctor on a machine that holds only a satellite of a rig (polecats placed here, the rig
// homed elsewhere): it checks what a satellite has (config, witness home, polecat homes) and
// leaves the home's beads, clones, refinery and mayor homes, plugins and merge queue to the
// home machine's doctor — a fresh satellite is clean, a missing witness mailbox is still found.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureSatelliteRig, runDoctor } from '../../../node-agent/index.js';
import { makeTown } from './fixtures.js';

describe('runDoctor on a satellite rig', () => {
  it('checks what a satellite holds and nothing only the home has', async () => {
    const root = await makeTown();
    await ensureSatelliteRig({
      townRoot: root,
      rig: 'app',
      homeMachine: 'w1',
      gitUrl: 'ssh://git@example.invalid/srv/git/app.git',
      defaultBranch: 'main',
      prefix: 'app',
    });
    const report = await runDoctor({ townRoot: root });
    expect(report.findings.filter((f) => f.status !== 'ok')).toEqual([]);
    const rigChecks = report.findings.filter((f) => f.rig === 'app').map((f) => f.check);
    expect(rigChecks).toContain('agent-homes');
    expect(rigChecks).toContain('worker-homes');
    for (const homeOnly of [
      'rig-beads',
      'refinery-clone',
      'mayor-clone',
      'rig-beads-files',
      'merge-queue-files',
    ])
      expect(rigChecks).not.toContain(homeOnly);

    // The satellite's own witness home is still checked.
    rmSync(join(root, 'app', 'witness', 'mail', 'inbox.jsonl'));
    const broken = await runDoctor({ townRoot: root });
    expect(broken.findings.filter((f) => f.status !== 'ok')).toEqual([
      expect.objectContaining({
        check: 'agent-homes',
        rig: 'app',
        status: 'error',
        message: expect.stringMatching(/mailbox .*app\/witness\/mail\/inbox\.jsonl is missing/),
      }),
    ]);
  });
});
