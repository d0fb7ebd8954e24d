import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GtError } from '../../../proto/index.js';
import { findTownRoot, installTown, loadTown, requireTownRoot } from '../../../node-agent/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { readJson, tree } from './fixtures.js';

async function rejection(p: Promise<unknown>): Promise<GtError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GtError);
    return err as GtError;
  }
  throw new Error('expected a GtError');
}

describe('installTown', () => {
  it('creates the seed layout file by file', async () => {
    const root = join(tempDir(), 'ai');
    const installed = await installTown({ root });
    expect(installed.root).toBe(root);
    expect(installed.town.name).toBe('ai');
    expect(tree(root)).toEqual([
      'config/',
      'config/federation.json',
      'config/rigs.json',
      'config/town.json',
      'mayor/',
      'mayor/CLAUDE.md',
      'mayor/mail/',
      'mayor/mail/inbox.jsonl',
      'mayor/state.json',
      'run/',
    ]);
    const town = readJson(join(root, 'config/town.json')) as Record<string, unknown>;
    expect(town).toEqual({ type: 'town', version: 1, name: 'ai', created_at: expect.any(String) });
    expect(new Date(town['created_at'] as string).getTime()).toBeGreaterThan(0);
    expect(readJson(join(root, 'config/rigs.json'))).toEqual({ version: 1, rigs: {} });
    expect(readJson(join(root, 'config/federation.json'))).toEqual({
      version: 1,
      machines: { local: { type: 'local' } },
    });
    expect(readFileSync(join(root, 'mayor/mail/inbox.jsonl'), 'utf8')).toBe('');
    expect(readJson(join(root, 'mayor/state.json'))).toEqual({
      version: 1,
      role: 'mayor',
      state: 'idle',
      updated_at: expect.any(String),
    });
    const prompt = readFileSync(join(root, 'mayor/CLAUDE.md'), 'utf8');
    expect(prompt).toContain('You are the Mayor of town "ai"');
    expect(prompt).toContain('gt spawn --issue');
    expect(statSync(join(root, 'run')).mode & 0o777).toBe(0o700);
    expect(installed.files.sort()).toEqual([
      'config/federation.json',
      'config/rigs.json',
      'config/town.json',
      'mayor/CLAUDE.md',
      'mayor/mail/inbox.jsonl',
      'mayor/state.json',
    ]);
  });

  it('takes a name and installs into an existing empty directory', async () => {
    const root = tempDir();
    const installed = await installTown({ root, name: 'stevey-gastown' });
    expect((await loadTown(root)).config.name).toBe('stevey-gastown');
    expect(installed.town.name).toBe('stevey-gastown');
  });

  it('refuses to re-install over a town unless forced, and --force keeps rigs and mail', async () => {
    const root = tempDir();
    await installTown({ root, name: 'one' });
    const err = await rejection(installTown({ root }));
    expect(err.code).toBe('GT_TOWN_EXISTS');
    expect(err.message).toBe(`a town is already installed at ${root}`);
    expect(err.hint).toContain('--force');
    const registry = {
      version: 1,
      rigs: { w: { git_url: '/x', added_at: '2024-01-15T10:30:00Z' } },
    };
    writeFileSync(join(root, 'config/rigs.json'), JSON.stringify(registry));
    writeFileSync(join(root, 'mayor/mail/inbox.jsonl'), '{"id":"m1"}\n');
    await installTown({ root, name: 'two', force: true });
    expect((await loadTown(root)).config.name).toBe('two');
    expect(readJson(join(root, 'config/rigs.json'))).toEqual(registry);
    expect(readFileSync(join(root, 'mayor/mail/inbox.jsonl'), 'utf8')).toBe('{"id":"m1"}\n');
    expect(readFileSync(join(root, 'mayor/CLAUDE.md'), 'utf8')).toContain('town "two"');
  });

  it('refuses a non-empty directory that is not a town, even with force', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'notes.txt'), 'mine');
    for (const force of [false, true]) {
      const err = await rejection(installTown({ root, force }));
      expect(err.code).toBe('GT_DIR_NOT_EMPTY');
      expect(err.message).toBe(`${root} is not empty and is not a Gas Town town`);
      expect(err.hint).toContain('new or empty directory');
    }
    expect(existsSync(join(root, 'config'))).toBe(false);
  });
});

describe('findTownRoot / loadTown', () => {
  it('walks up from any directory inside the town', async () => {
    const root = tempDir();
    await installTown({ root });
    const deep = join(root, 'wyvern', 'polecats', 'Nux', 'src');
    mkdirSync(deep, { recursive: true });
    expect(findTownRoot(deep)).toBe(root);
    expect(findTownRoot(root)).toBe(root);
    expect(findTownRoot(tempDir())).toBeUndefined();
    const err = (() => {
      try {
        requireTownRoot(tempDir());
      } catch (e) {
        return e as GtError;
      }
      throw new Error('expected GT_NOT_A_TOWN');
    })();
    expect(err.code).toBe('GT_NOT_A_TOWN');
    expect(err.hint).toContain('gt install');
  });

  it('reports a broken town.json as file: field: problem', async () => {
    const root = tempDir();
    await installTown({ root });
    writeFileSync(join(root, 'config/town.json'), JSON.stringify({ type: 'town', version: 1 }));
    const err = await rejection(loadTown(root));
    expect(err.code).toBe('GT_CONFIG_INVALID');
    expect(err.message).toContain(`${join(root, 'config/town.json')}: name:`);
    expect(err.message).toContain(`${join(root, 'config/town.json')}: created_at:`);
  });
});
