// gt as a user meets it: version, usage errors (exit 2), clear errors with hints (exit 1).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GT, gt } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('gt basics', () => {
  it('prints its version', async () => {
    const r = await gt(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^gt \d+\.\d+\.\d+\n$/);
  });

  it('a reader that closes early (gt … | head) is not an error: exit 0, no stack trace', async () => {
    const child = spawn(process.execPath, [GT, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('exits 2 on usage errors', async () => {
    const unknown = await gt(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const missing = await gt(['rig', 'add', 'only-name']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing required argument 'git_url'/);
  });

  it('outside a town: a clear error with what to do, exit 1', async () => {
    const dir = tempDir();
    const r = await gt(['status'], { cwd: dir, env: { GT_TOWN: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: not inside a Gas Town town/m);
    expect(r.stderr).toMatch(/^hint: .*gt install/m);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses to install over a non-empty directory that is not a town, or over a town', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'stuff'));
    writeFileSync(join(dir, 'stuff', 'file.txt'), 'mine');
    const r = await gt(['install', join(dir, 'stuff')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: .*not empty/);
    const town = join(dir, 'town');
    expect((await gt(['install', town])).code).toBe(0);
    const again = await gt(['install', town]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/hint: .*--force/);
  });

  it('a malformed address on the command line is a usage error naming the problem', async () => {
    const dir = tempDir();
    const town = join(dir, 'town');
    expect((await gt(['install', town])).code).toBe(0);
    const r = await gt(['rig', 'add', 'bad/name', '/tmp'], { env: { GT_TOWN: town } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/invalid rig name/);
  });

  it('a corrupt config file gives file: field: problem and a fix, never a stack trace', async () => {
    const dir = tempDir();
    const town = join(dir, 'town');
    expect((await gt(['install', town])).code).toBe(0);
    writeFileSync(
      join(town, 'config', 'rigs.json'),
      JSON.stringify({ version: 1, rigs: { x: { git_url: 5 } } }),
    );
    const r = await gt(['rigs'], { env: { GT_TOWN: town } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(town, 'config', 'rigs.json')}: rigs.x.git_url:`);
    expect(r.stderr).toMatch(/^hint: /m);
  });
});
