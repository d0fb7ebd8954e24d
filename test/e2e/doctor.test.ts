// gt doctor / --fix as the Overseer runs them: findings with hints, exit codes, repairs reported.
import { existsSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import { makeBareRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/tmp.js';

interface Report {
  findings: Array<{
    check: string;
    status: string;
    message: string;
    hint: string;
    fixable: boolean;
    rig: string;
  }>;
  fixed: string[];
}

describe('gt doctor', () => {
  it('finds planted faults, exits 1, and --fix repairs what it can and says so', async () => {
    const base = tempDir('gt-doc-');
    const town = join(base, 'town');
    const env = { GT_TOWN: town };
    expect((await gt(['install', town])).code).toBe(0);
    expect((await gt(['rig', 'add', 'alpha', makeBareRepo(join(base, 'r'))], { env })).code).toBe(
      0,
    );
    const clean = await gt(['doctor'], { env });
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.stdout).toMatch(/0 error\(s\), 0 warning\(s\)/);

    rmSync(join(town, 'mayor', 'mail', 'inbox.jsonl'));
    rmSync(join(town, 'alpha', 'mayor', 'rig'), { recursive: true });
    writeFileSync(join(town, 'run', 'coordinator.pid'), '999999\n');
    mkdirSync(join(town, 'alpha', '.git'));

    const broken = await gt(['doctor', '--json'], { env });
    expect(broken.code).toBe(1);
    const report = JSON.parse(broken.stdout) as Report;
    const bad = report.findings.filter((f) => f.status !== 'ok');
    expect(bad.map((f) => f.check).sort()).toEqual(
      ['mayor-clone', 'mayor-home', 'rig-root-not-clone', 'runtime-files'].sort(),
    );
    for (const f of bad) expect(f.hint, f.check).not.toBe('');
    expect(bad.find((f) => f.check === 'rig-root-not-clone')?.fixable).toBe(false);

    const fixed = await gt(['doctor', '--fix'], { env });
    expect(fixed.code).toBe(1); // the rig-root clone is never auto-fixed: it may hold user work
    expect(fixed.stdout).toMatch(/FIXED .*inbox/);
    expect(fixed.stdout).toMatch(/FIXED .*mayor\/rig/);
    expect(fixed.stdout).toMatch(/FIXED .*coordinator\.pid/);
    expect(existsSync(join(town, 'mayor', 'mail', 'inbox.jsonl'))).toBe(true);
    expect(existsSync(join(town, 'alpha', 'mayor', 'rig', '.git'))).toBe(true);
    expect(existsSync(join(town, 'run', 'coordinator.pid'))).toBe(false);
    expect(existsSync(join(town, 'alpha', '.git'))).toBe(true);

    rmSync(join(town, 'alpha', '.git'), { recursive: true });
    const after = await gtJson<Report>(['doctor'], { env });
    expect(after.findings.filter((f) => f.status !== 'ok')).toEqual([]);
  });
});
