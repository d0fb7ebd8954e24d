// The same gt commands give the same --json answers embedded (no daemon) and through `gt up`.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { gt, gtJson } from '../helpers/cli.js';
import { makeBareRepo } from '../helpers/git.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { makeZombie } from '../helpers/zombie.js';

let base: string;
let town: string;
const env = (): NodeJS.ProcessEnv => ({ GT_TOWN: town });

beforeAll(async () => {
  base = tempDirUnmanaged('gt-modes-');
  town = join(base, 'town');
  const repo = makeBareRepo(join(base, 'repos', 'alpha'), { extraCommits: 2 });
  const repo2 = makeBareRepo(join(base, 'repos', 'beta'));
  expect((await gt(['install', town, '--name', 'modes'])).code).toBe(0);
  expect((await gt(['rig', 'add', 'alpha', repo], { env: env() })).code).toBe(0);
  expect(
    (await gt(['rig', 'add', 'beta', `file://${repo2}`, '--prefix', 'bt'], { env: env() })).code,
  ).toBe(0);
});

afterAll(async () => {
  await gt(['down'], { env: env() });
  rmSync(base, { recursive: true, force: true });
});

const readCommands: string[][] = [['rigs'], ['status'], ['doctor'], ['prime']];

describe('embedded vs daemon', () => {
  it('answers identically in both modes, and --verbose says which served', async () => {
    const embedded: unknown[] = [];
    for (const cmd of readCommands) embedded.push(await gtJson(cmd, { env: env(), cwd: town }));
    const plain = await gt(['status', '--verbose'], { env: env() });
    expect(plain.stderr).toContain('embedded coordinator');

    const upResult = await gt(['up'], { env: env() });
    expect(upResult.code, upResult.stderr).toBe(0);
    const paths = {
      pid: join(town, 'run', 'coordinator.pid'),
      sock: join(town, 'run', 'coordinator.sock'),
    };
    expect(existsSync(paths.pid)).toBe(true);
    expect(statSync(paths.sock).mode & 0o777).toBe(0o600);

    const daemon: unknown[] = [];
    for (const cmd of readCommands) daemon.push(await gtJson(cmd, { env: env(), cwd: town }));
    expect(daemon).toEqual(embedded);
    const verbose = await gt(['status', '--verbose'], { env: env() });
    expect(verbose.stderr).toContain('town daemon');

    // Errors cross the daemon boundary with code-specific text and hint.
    const bad = await gt(['rig', 'add', 'alpha', '/nowhere'], { env: env() });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: .*alpha/);
    expect(bad.stderr).toMatch(/hint: /);
    const badEmbedded = await gt(['down'], { env: env() }).then(() =>
      gt(['rig', 'add', 'alpha', '/nowhere'], { env: env() }),
    );
    expect(badEmbedded.stderr).toBe(bad.stderr);
  });

  it('gt up refuses to start twice, reports status, and gt down cleans up', async () => {
    expect((await gt(['up'], { env: env() })).code).toBe(0);
    const second = await gt(['up'], { env: env() });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already running \(pid \d+\)/);
    const st = await gtJson<{ running: boolean; pid: number }>(['up', '--status'], { env: env() });
    expect(st.running).toBe(true);
    expect((await gt(['down'], { env: env() })).code).toBe(0);
    expect(existsSync(join(town, 'run', 'coordinator.pid'))).toBe(false);
    expect(existsSync(join(town, 'run', 'coordinator.sock'))).toBe(false);
    const after = await gt(['up', '--status'], { env: env() });
    expect(after.code).toBe(1);
    expect(after.stdout).toContain('not running');
  });

  it('removes a stale pid file and socket left by a dead daemon', async () => {
    writeFileSync(join(town, 'run', 'coordinator.pid'), '999999\n');
    writeFileSync(join(town, 'run', 'coordinator.sock'), '');
    // Commands fall back to embedded mode while the pid is dead.
    expect((await gtJson<{ rigs: unknown[] }>(['rigs'], { env: env() })).rigs).toHaveLength(2);
    const upResult = await gt(['up'], { env: env() });
    expect(upResult.code, upResult.stderr).toBe(0);
    expect((await gt(['down'], { env: env() })).code).toBe(0);
  });

  it('a zombie daemon pid with its left-over socket is stale: status says so, commands run embedded', async () => {
    const paths = {
      pid: join(town, 'run', 'coordinator.pid'),
      sock: join(town, 'run', 'coordinator.sock'),
    };
    const zombie = await makeZombie(paths.sock);
    try {
      expect(existsSync(paths.sock)).toBe(true);
      writeFileSync(paths.pid, `${zombie.pid}\n`);
      const st = await gtJson<{ running: boolean; pid: number | null; stale: string | null }>(
        ['up', '--status'],
        { env: env() },
      );
      expect(st).toMatchObject({ running: false, pid: null });
      expect(st.stale).toMatch(new RegExp(`process ${zombie.pid} is a zombie`));
      const text = await gt(['up', '--status'], { env: env() });
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/daemon: not running .*stale pid file .*zombie/);
      const status = await gt(['status', '--verbose'], { env: env() });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stderr).toContain('embedded coordinator');
      expect((await gtJson<{ rigs: unknown[] }>(['rigs'], { env: env() })).rigs).toHaveLength(2);
      // gt up replaces the stale files and serves.
      const upResult = await gt(['up'], { env: env() });
      expect(upResult.code, upResult.stderr).toBe(0);
      expect((await gtJson<{ running: boolean }>(['up', '--status'], { env: env() })).running).toBe(
        true,
      );
      expect((await gt(['down'], { env: env() })).code).toBe(0);
    } finally {
      zombie.release();
    }
  });

  it('a live pid whose socket does not answer is not a running daemon', async () => {
    // This test process is alive and answers on nothing: the pid file names it.
    writeFileSync(join(town, 'run', 'coordinator.pid'), `${process.pid}\n`);
    try {
      const st = await gtJson<{ running: boolean; stale: string | null }>(['up', '--status'], {
        env: env(),
      });
      expect(st.running).toBe(false);
      expect(st.stale).toMatch(/runs but nothing answers/);
      expect((await gt(['status'], { env: env() })).code).toBe(0);
      const up = await gt(['up'], { env: env() });
      expect(up.code).toBe(1);
      expect(up.stderr).toMatch(/runs but does not answer/);
    } finally {
      rmSync(join(town, 'run', 'coordinator.pid'), { force: true });
    }
  });
});
