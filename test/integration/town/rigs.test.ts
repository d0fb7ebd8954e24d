import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GtError } from '../../../proto/index.js';
import { addRig, listRigs, removeRig } from '../../../node-agent/index.js';
import { git, makeBareRepo } from '../../helpers/git.js';
import { tempDir } from '../../helpers/tmp.js';
import { makeTown, makeTownWithRig, readJson, tree } from './fixtures.js';

async function rejection(p: Promise<unknown>): Promise<GtError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GtError);
    return err as GtError;
  }
  throw new Error('expected a GtError');
}

function withoutClones(paths: string[]): string[] {
  return paths.filter((p) => !/^(refinery|mayor)\/rig\/./.test(p));
}

describe('addRig', () => {
  it('creates the rig container, clones and homes file by file', async () => {
    const { root, bare, rig } = await makeTownWithRig();
    const dir = join(root, 'wyvern');
    expect(rig).toEqual({
      name: 'wyvern',
      git_url: bare,
      prefix: 'wyv',
      path: dir,
      default_branch: 'main',
      machine: undefined,
      polecats: 0,
      added_at: expect.any(String),
      present: true,
    });
    expect(withoutClones(tree(dir))).toEqual([
      '.beads/',
      '.beads/.gitignore',
      '.beads/beads.db',
      '.beads/config.yaml',
      '.beads/issues.jsonl',
      'config.json',
      'mayor/',
      'mayor/CLAUDE.md',
      'mayor/mail/',
      'mayor/mail/inbox.jsonl',
      'mayor/rig/',
      'mayor/state.json',
      'plugins/',
      'polecats/',
      'refinery/',
      'refinery/CLAUDE.md',
      'refinery/mail/',
      'refinery/mail/inbox.jsonl',
      'refinery/rig/',
      'refinery/state.json',
      'witness/',
      'witness/CLAUDE.md',
      'witness/mail/',
      'witness/mail/inbox.jsonl',
      'witness/state.json',
    ]);
    expect(existsSync(join(dir, '.git'))).toBe(false);
    expect(readJson(join(dir, 'config.json'))).toEqual({
      type: 'rig',
      version: 1,
      name: 'wyvern',
      git_url: bare,
      default_branch: 'main',
      beads: { prefix: 'wyv' },
    });
    expect(readJson(join(root, 'config/rigs.json'))).toEqual({
      version: 1,
      rigs: { wyvern: { git_url: bare, added_at: rig.added_at, prefix: 'wyv' } },
    });
    expect(readFileSync(join(dir, '.beads/config.yaml'), 'utf8')).toContain('wyv');
    for (const [home, role] of [
      ['witness', 'witness'],
      ['refinery', 'refinery'],
      ['mayor', 'mayor'],
    ]) {
      expect(readJson(join(dir, home as string, 'state.json'))).toMatchObject({
        role,
        state: 'idle',
      });
      expect(readFileSync(join(dir, home as string, 'mail/inbox.jsonl'), 'utf8')).toBe('');
    }
    expect(readFileSync(join(dir, 'witness/CLAUDE.md'), 'utf8')).toContain(
      'You are the Witness of rig "wyvern"',
    );
    expect(readFileSync(join(dir, 'refinery/CLAUDE.md'), 'utf8')).toContain('merge queue');
    expect(readFileSync(join(dir, 'mayor/CLAUDE.md'), 'utf8')).toContain('prefix `wyv`');
    const head = git(join(tempDir(), '..'), '--git-dir', bare, 'rev-parse', 'main');
    for (const clone of ['refinery/rig', 'mayor/rig']) {
      const c = join(dir, clone);
      expect(git(c, 'rev-parse', '--show-toplevel')).toBe(c);
      expect(git(c, 'branch', '--show-current')).toBe('main');
      expect(git(c, 'remote', 'get-url', 'origin')).toBe(bare);
      expect(git(c, 'rev-parse', 'HEAD')).toBe(head);
      expect(git(c, 'status', '--porcelain')).toBe('');
      expect(readFileSync(join(c, 'README.md'), 'utf8')).toBe('# sample\n');
      expect(git(c, 'rev-list', '--count', 'HEAD')).toBe('3');
    }
  });

  it('accepts a file:// URL, a relative path and an explicit prefix', async () => {
    const root = await makeTown();
    const origin = tempDir('gt-origin-');
    const bare = makeBareRepo(origin);
    const url = pathToFileURL(bare).href;
    const a = await addRig({ townRoot: root, name: 'alpha', gitUrl: url, prefix: 'al' });
    expect(a.git_url).toBe(url);
    expect(a.prefix).toBe('al');
    expect(git(join(root, 'alpha/refinery/rig'), 'remote', 'get-url', 'origin')).toBe(url);
    expect(git(join(root, 'alpha/mayor/rig'), 'remote', 'get-url', 'origin')).toBe(url);
    const b = await addRig({
      townRoot: root,
      name: 'beta',
      gitUrl: relative(origin, bare),
      cwd: origin,
    });
    expect(b.git_url).toBe(bare);
    expect((await listRigs(root)).map((r) => [r.name, r.prefix])).toEqual([
      ['alpha', 'al'],
      ['beta', 'bet'],
    ]);
  });

  it('rolls back completely when the clone fails', async () => {
    const root = await makeTown();
    const before = readFileSync(join(root, 'config/rigs.json'), 'utf8');
    const missing = join(tempDir(), 'no-such-repo.git');
    const err = await rejection(addRig({ townRoot: root, name: 'ghost', gitUrl: missing }));
    expect(err.code).toBe('GT_GIT_FAILED');
    expect(err.message).toContain(
      `gt rig add ghost failed while cloning ${missing} into refinery/rig; nothing was left behind`,
    );
    expect(err.message).toContain('git clone');
    expect(err.hint).toBe('check the repository URL or path');
    expect(existsSync(join(root, 'ghost'))).toBe(false);
    expect(readFileSync(join(root, 'config/rigs.json'), 'utf8')).toBe(before);
    const ssh = await rejection(
      addRig({ townRoot: root, name: 'remote', gitUrl: 'ssh://git@127.0.0.1:1/none.git' }),
    );
    expect(ssh.code).toBe('GT_GIT_FAILED');
    expect(existsSync(join(root, 'remote'))).toBe(false);
    expect(readFileSync(join(root, 'config/rigs.json'), 'utf8')).toBe(before);
  });

  it('rolls back when registering fails after the clones were made', async () => {
    const root = await makeTown();
    const bare = makeBareRepo(tempDir('gt-origin-'));
    writeFileSync(join(root, 'config/rigs.json'), '{"version": 1, "rigs": {}}');
    // A lock held by a live holder makes the registry write time out (after 15 s) once the
    // clones already exist: everything must still be rolled back.
    writeFileSync(join(root, 'config/rigs.json.lock'), `${process.pid}@elsewhere`);
    const lockTimeout = await rejection(addRig({ townRoot: root, name: 'late', gitUrl: bare }));
    expect(lockTimeout.code).toBe('GT_LOCK_TIMEOUT');
    expect(lockTimeout.message).toContain('failed while registering the rig in config/rigs.json');
    expect(existsSync(join(root, 'late'))).toBe(false);
  }, 60_000);

  it('refuses an existing rig name, a reserved name and a bad prefix', async () => {
    const { root, bare } = await makeTownWithRig();
    const exists = await rejection(addRig({ townRoot: root, name: 'wyvern', gitUrl: bare }));
    expect(exists.code).toBe('GT_RIG_EXISTS');
    expect(exists.message).toBe('rig "wyvern" is already registered in this town');
    expect(exists.hint).toContain('gt rig remove wyvern');
    mkdirSync(join(root, 'stray'));
    const dir = await rejection(addRig({ townRoot: root, name: 'stray', gitUrl: bare }));
    expect(dir.code).toBe('GT_RIG_EXISTS');
    const reserved = await rejection(addRig({ townRoot: root, name: 'witness', gitUrl: bare }));
    expect(reserved.code).toBe('GT_INVALID_ARGUMENT');
    expect(reserved.message).toContain('reserved role word');
    const slash = await rejection(addRig({ townRoot: root, name: '../evil', gitUrl: bare }));
    expect(slash.code).toBe('GT_INVALID_ARGUMENT');
    const prefix = await rejection(
      addRig({ townRoot: root, name: 'ok', gitUrl: bare, prefix: 'NO!' }),
    );
    expect(prefix.code).toBe('GT_INVALID_ARGUMENT');
    expect(prefix.message).toBe('invalid beads prefix "NO!"');
    expect(
      Object.keys((readJson(join(root, 'config/rigs.json')) as { rigs: object }).rigs),
    ).toEqual(['wyvern']);
  });
});

describe('removeRig', () => {
  it('unregisters and deletes a clean rig', async () => {
    const { root } = await makeTownWithRig();
    const removed = await removeRig({ townRoot: root, name: 'wyvern' });
    expect(removed).toEqual({
      name: 'wyvern',
      path: join(root, 'wyvern'),
      unregistered: true,
      deleted: true,
      discarded: [],
    });
    expect(existsSync(join(root, 'wyvern'))).toBe(false);
    expect(readJson(join(root, 'config/rigs.json'))).toEqual({ version: 1, rigs: {} });
    const again = await rejection(removeRig({ townRoot: root, name: 'wyvern' }));
    expect(again.code).toBe('GT_RIG_NOT_FOUND');
  });

  it('refuses to lose uncommitted or unpushed work unless forced', async () => {
    const { root } = await makeTownWithRig();
    const polecat = join(root, 'wyvern/polecats/Nux');
    git(join(root, 'wyvern/polecats'), 'clone', '-q', join(root, 'wyvern/refinery/rig'), 'Nux');
    writeFileSync(join(polecat, 'wip.txt'), 'half done\n');
    writeFileSync(join(root, 'wyvern/mayor/rig/README.md'), 'edited\n');
    git(join(root, 'wyvern/mayor/rig'), 'commit', '-qam', 'local only');
    const err = await rejection(removeRig({ townRoot: root, name: 'wyvern' }));
    expect(err.code).toBe('GT_DIRTY');
    expect(err.message).toContain('rig "wyvern" holds work that exists nowhere else');
    expect(err.message).toContain('wyvern/mayor/rig: 1 unpushed commit(s)');
    expect(err.message).toContain('wyvern/polecats/Nux: 1 uncommitted change(s)');
    expect(err.hint).toContain('--force');
    expect(existsSync(polecat)).toBe(true);
    expect(
      Object.keys((readJson(join(root, 'config/rigs.json')) as { rigs: object }).rigs),
    ).toEqual(['wyvern']);
    writeFileSync(join(root, 'wyvern/.beads/issues.jsonl'), '{"id":"wyv-1"}\n');
    const beads = await rejection(removeRig({ townRoot: root, name: 'wyvern' }));
    expect(beads.message).toContain("wyvern/.beads: 1 beads issue(s) in the rig's tracker");
    const forced = await removeRig({ townRoot: root, name: 'wyvern', force: true });
    expect(forced.deleted).toBe(true);
    expect(forced.discarded).toHaveLength(3);
    expect(existsSync(join(root, 'wyvern'))).toBe(false);
  });
});

describe('addRig under concurrency and cancellation', () => {
  it('registers two rigs added at once, and only one of two adds of the same name', async () => {
    const root = await makeTown();
    const bare = makeBareRepo(tempDir('gt-origin-'));
    const [a, b] = await Promise.all([
      addRig({ townRoot: root, name: 'one', gitUrl: bare }),
      addRig({ townRoot: root, name: 'two', gitUrl: bare }),
    ]);
    expect([a.name, b.name]).toEqual(['one', 'two']);
    expect(
      Object.keys((readJson(join(root, 'config/rigs.json')) as { rigs: object }).rigs).sort(),
    ).toEqual(['one', 'two']);
    const results = await Promise.allSettled([
      addRig({ townRoot: root, name: 'same', gitUrl: bare }),
      addRig({ townRoot: root, name: 'same', gitUrl: bare }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((lost.reason as GtError).code).toBe('GT_RIG_EXISTS');
    expect(existsSync(join(root, 'same/refinery/rig/README.md'))).toBe(true);
    expect((await listRigs(root)).map((r) => r.name)).toEqual(['one', 'same', 'two']);
  });

  it('rolls back when aborted', async () => {
    const root = await makeTown();
    const bare = makeBareRepo(tempDir('gt-origin-'));
    const controller = new AbortController();
    controller.abort();
    const err = await rejection(
      addRig({ townRoot: root, name: 'stopped', gitUrl: bare, signal: controller.signal }),
    );
    expect(err.code).toBe('GT_CANCELLED');
    expect(err.message).toContain('nothing was left behind');
    expect(existsSync(join(root, 'stopped'))).toBe(false);
    expect(readJson(join(root, 'config/rigs.json'))).toEqual({ version: 1, rigs: {} });
  });
});

describe('listRigs', () => {
  it('lists name, url, prefix, path, polecat count and added_at', async () => {
    const { root, bare, rig } = await makeTownWithRig();
    mkdirSync(join(root, 'wyvern/polecats/Nux'));
    mkdirSync(join(root, 'wyvern/polecats/Toast'));
    expect(await listRigs(root)).toEqual([{ ...rig, git_url: bare, polecats: 2 }]);
  });
});
