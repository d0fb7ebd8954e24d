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
    expect(r.code).toBe(2);
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

  it('every command naming an unknown rig says no rig named "X"; an invalid rig name is a usage error', async () => {
    const town = join(tempDir(), 'town');
    expect((await gt(['install', town])).code).toBe(0);
    const env = { GT_TOWN: town };
    const commands = [
      ['witness', 'patrol', 'nosuchrig', '--once'],
      ['refinery', 'process', 'nosuchrig'],
      ['mq', 'list', 'nosuchrig'],
      ['mq', 'status', 'x-1', '--rig', 'nosuchrig'],
      ['polecats', 'nosuchrig'],
      ['spawn', 'nosuchrig', '--issue', 'x-1'],
      ['swarm', 'start', 'nosuchrig', '--ready', '1'],
      ['swarm', 'list', '--rig', 'nosuchrig'],
      ['plugin', 'status', 'nosuchrig/p'],
      ['stop', '--rig', 'nosuchrig'],
    ];
    for (const args of commands) {
      const r = await gt(args, { env });
      expect(r.stderr, args.join(' ')).toMatch(/^error: no rig named "nosuchrig"$/m);
      expect(r.stderr, args.join(' ')).toMatch(/^hint: add one with `gt rig add/m);
      expect(r.code, args.join(' ')).toBe(1);
    }
    for (const args of [
      ['rig', 'add', '../evil', town],
      ['witness', 'patrol', '../evil', '--once'],
      ['refinery', 'process', '../evil'],
      ['mq', 'list', '../evil'],
    ]) {
      const r = await gt(args, { env });
      expect(r.stderr, args.join(' ')).toMatch(
        /^error: invalid rig name: .*"\.\.\/evil" contains "\.\."/m,
      );
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('gt install where nothing can be written says so: no internal error, no endless loop', async () => {
    const sys = await gt(['install', '/sys/gt-nope']);
    expect(sys.stderr).toMatch(
      /^error: cannot install a town at \/sys\/gt-nope: \/sys is not writable/m,
    );
    expect(sys.stderr).toMatch(/^hint: choose a path in a directory you can write to/m);
    expect(sys.stderr).not.toMatch(/internal error/);
    expect(sys.code).toBe(1);
    // Node's recursive mkdir loops forever under /proc: the command must end (the time-out only
    // detects a hang) with the same clear error.
    const proc = await gt(['install', '/proc/gt-nope/town'], { timeoutMs: 60_000 });
    expect(proc.stderr).toMatch(
      /^error: cannot install a town at \/proc\/gt-nope\/town: \/proc is not writable/m,
    );
    expect(proc.code).toBe(1);
    const file = join(tempDir(), 'file');
    writeFileSync(file, 'x');
    const under = await gt(['install', join(file, 'town')]);
    expect(under.stderr).toMatch(/is not writable \(it is not a directory\)/);
    expect(under.code).toBe(1);
  });

  it('gt send refuses a message with an empty subject and an empty body (usage error)', async () => {
    const town = join(tempDir(), 'town');
    expect((await gt(['install', town])).code).toBe(0);
    const env = { GT_TOWN: town };
    const empty = await gt(['send', 'mayor', '-s', '', '-m', ''], { env });
    expect(empty.stderr).toMatch(/^error: the message has an empty subject and an empty body$/m);
    expect(empty.code).toBe(2);
    const blank = await gt(['send', 'mayor', '-s', ' ', '-m', '\n'], { env });
    expect(blank.code).toBe(2);
    const inbox = await gt(['inbox', '--as', 'mayor', '--json'], { env });
    expect(JSON.parse(inbox.stdout).messages).toEqual([]);
    const bodyOnly = await gt(['send', 'mayor', '-m', 'just a body'], { env });
    expect(bodyOnly.code).toBe(0);
  });
});
