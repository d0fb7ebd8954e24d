// gt doctor / --fix as the Overseer runs them: findings with hints, exit codes, repairs reported.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { socketAnswers } from '../../proto/index.js';
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

  it('still runs with a broken config/federation.json and reports it; other commands refuse', async () => {
    const base = tempDir('gt-doc-fed-');
    const town = join(base, 'town');
    const env = { GT_TOWN: town };
    expect((await gt(['install', town])).code).toBe(0);
    const file = join(town, 'config', 'federation.json');
    const hint =
      'fix the named field in config/federation.json by hand; until it is valid every command but gt doctor refuses to run';

    writeFileSync(file, 'garbage{\n');
    const broken = await gt(['doctor', '--json'], { env });
    expect(broken.code, broken.stderr).toBe(1);
    const report = JSON.parse(broken.stdout) as Report;
    expect(report.findings.filter((f) => f.status !== 'ok')).toEqual([
      expect.objectContaining({
        check: 'federation-config',
        status: 'error',
        message: expect.stringMatching(
          new RegExp(
            `^${file}: \\(root\\): not valid JSON \\(.*\\) \\(so this report covers the local machine only\\)$`,
            's',
          ),
        ) as unknown,
        hint,
      }),
    ]);
    expect(report.findings.find((f) => f.check === 'town-config')?.status).toBe('ok');
    const status = await gt(['status'], { env });
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`error: ${file}: (root): not valid JSON`);
    expect(status.stderr).toMatch(/^hint: fix config\/federation\.json/m);

    // Valid JSON the node agent accepts, but not the machine registry (a bad machine name).
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        machines: { local: { type: 'local' }, Bad_Name: { type: 'local' } },
      }),
    );
    const strict = await gt(['doctor', '--json'], { env });
    expect(strict.code).toBe(1);
    const fed = (JSON.parse(strict.stdout) as Report).findings.filter(
      (f) => f.check === 'federation-config',
    );
    expect(fed).toEqual([
      expect.objectContaining({
        status: 'error',
        message: `${file}: machines.Bad_Name: Invalid key in record (so this report covers the local machine only)`,
        hint,
      }),
    ]);
    expect((await gt(['rigs'], { env })).stderr).toContain(`error: ${file}: machines.Bad_Name`);
  });

  it('a left-over tmux socket is normal; one bad rigs.json is one error, dependent checks skip', async () => {
    const base = tempDir('gt-doc-rigs-');
    const town = join(base, 'town');
    const env = { GT_TOWN: town };
    expect((await gt(['install', town])).code).toBe(0);
    expect((await gt(['rig', 'add', 'alpha', makeBareRepo(join(base, 'r'))], { env })).code).toBe(
      0,
    );
    // A session that ends at once: its server exits and leaves run/tmux.sock behind, as always.
    const sock = join(town, 'run', 'tmux.sock');
    execFileSync('tmux', ['-S', sock, 'new-session', '-d', '-s', 'brief', 'true']);
    for (let i = 0; i < 200 && (await socketAnswers(sock)); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(sock)).toBe(true);
    expect(await socketAnswers(sock)).toBe(false);
    const idle = await gt(['doctor', '--json'], { env });
    expect(idle.code, idle.stdout).toBe(0);
    const idleReport = JSON.parse(idle.stdout) as Report;
    expect(idleReport.findings.filter((f) => f.status !== 'ok')).toEqual([]);
    expect(idleReport.findings.find((f) => f.check === 'tmux-server')?.message).toMatch(
      /no tmux server runs and no agent needs one/,
    );
    expect((await gt(['doctor'], { env })).stdout).toMatch(/0 error\(s\), 0 warning\(s\)/);

    const rigsJson = join(town, 'config', 'rigs.json');
    writeFileSync(rigsJson, '{"rigs": {');
    const broken = await gt(['doctor', '--json'], { env });
    expect(broken.code).toBe(1);
    const report = JSON.parse(broken.stdout) as Report;
    const errors = report.findings.filter((f) => f.status === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        check: 'rigs-config',
        message: expect.stringContaining(`${rigsJson}: (root): not valid JSON`) as unknown,
      }),
    ]);
    for (const f of report.findings) expect(f.message).not.toContain('the check itself failed');
    const skipped = report.findings.filter((f) => f.message.startsWith('skipped:'));
    expect(skipped.map((f) => f.check)).toEqual(
      expect.arrayContaining(['rig-registry', 'tmux-server', 'agent-crash']),
    );
    for (const f of skipped)
      expect(f).toMatchObject({
        status: 'warning',
        message: 'skipped: config/rigs.json is unreadable (see rigs-config)',
      });
  });
});
