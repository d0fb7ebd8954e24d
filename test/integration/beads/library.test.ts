// The beads library in-process (as the node agent uses it): real SQLite in temp dirs.
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addDependency,
  beadsEnvFor,
  claimIssue,
  closeIssues,
  createIssue,
  findBeadsDir,
  initBeads,
  listIssues,
  openBeads,
  readyIssues,
  updateIssue,
} from '../../../node-agent/index.js';
import { isGtError } from '../../../proto/index.js';
import { tempDir } from '../../helpers/tmp.js';

const jsonlIds = (beadsDir: string) =>
  readFileSync(join(beadsDir, 'issues.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { id: string }).id);

describe('beads library', () => {
  it('initBeads({beadsDir, prefix}) is a real bd init (what gt rig add calls)', () => {
    const rig = tempDir('bd-rig-');
    const beadsDir = beadsEnvFor(rig).BEADS_DIR;
    expect(beadsDir).toBe(join(rig, '.beads'));
    initBeads({ beadsDir, prefix: 'wyv' });
    expect(readFileSync(join(beadsDir, 'config.yaml'), 'utf8')).toBe('issue-prefix: wyv\n');
    expect(() => initBeads({ beadsDir, prefix: 'wyv' })).toThrow(/already exists/);
    initBeads({ beadsDir, prefix: 'wyv', force: true });
    expect(() => initBeads({ beadsDir: join(rig, 'x'), prefix: 'bad prefix!' })).toThrow(
      /invalid issue prefix/,
    );
    // the built bd sees what the library made
    const out = execFileSync(
      process.execPath,
      [join(import.meta.dirname, '../../../dist/cli/bd.js'), 'stats', '--json'],
      {
        env: { ...process.env, BEADS_DIR: beadsDir },
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(out)).toMatchObject({ total: 0 });
  });

  it('create / update / claim / close / ready / list in-process, JSONL kept in step', () => {
    const beadsDir = join(tempDir('bd-lib-'), '.beads');
    initBeads({ beadsDir, prefix: 'lib' });
    const store = openBeads(beadsDir, 'polecat-1');
    try {
      const a = createIssue(store, { title: 'A', priority: 'P1' });
      const b = createIssue(store, { title: 'B', deps: [{ type: 'blocks', id: a.id }] });
      expect(jsonlIds(beadsDir).sort()).toEqual([a.id, b.id].sort());
      expect(readyIssues(store).map((i) => i.id)).toEqual([a.id]);
      expect(claimIssue(store, a.id)).toMatchObject({
        assignee: 'polecat-1',
        status: 'in_progress',
      });
      try {
        claimIssue(store, a.id, 'polecat-2');
        expect.unreachable();
      } catch (err) {
        expect(isGtError(err) && err.code).toBe('GT_CLAIMED');
      }
      closeIssues(store, [a.id], 'merged');
      expect(readyIssues(store).map((i) => i.id)).toEqual([b.id]);
      updateIssue(store, b.id, { addLabels: ['x'] });
      expect(listIssues(store, { label: 'x' }).map((i) => i.id)).toEqual([b.id]);
      expect(() => addDependency(store, a.id, b.id)).toThrow(/cycle/);
    } finally {
      store.close();
    }
  });

  it('a debounced store flushes issues.jsonl on close', () => {
    const beadsDir = join(tempDir('bd-lib-'), '.beads');
    initBeads({ beadsDir, prefix: 'deb' });
    const store = openBeads(beadsDir, 'agent', { exportDebounceMs: 60_000 });
    const issue = createIssue(store, { title: 'later' });
    expect(jsonlIds(beadsDir)).toEqual([]);
    store.close();
    expect(jsonlIds(beadsDir)).toEqual([issue.id]);
  });

  it('findBeadsDir: BEADS_DIR first, else .beads up to the git root', () => {
    const repo = tempDir('bd-find-');
    execFileSync('git', ['init', '-q', repo]);
    initBeads({ beadsDir: join(repo, '.beads'), prefix: 'f' });
    const deep = join(repo, 'a', 'b');
    execFileSync('mkdir', ['-p', deep]);
    expect(findBeadsDir({ cwd: deep })).toBe(join(repo, '.beads'));
    expect(findBeadsDir({ cwd: deep, beadsDirEnv: '/elsewhere/.beads' })).toBe('/elsewhere/.beads');
  });

  it('a database from an older schema is brought up to date on open', () => {
    const beadsDir = join(tempDir('bd-old-'), '.beads');
    initBeads({ beadsDir, prefix: 'old' });
    const raw = new Database(join(beadsDir, 'beads.db'));
    raw.exec('DROP INDEX dependencies_type');
    raw.pragma('user_version = 1');
    raw.close();
    const store = openBeads(beadsDir);
    try {
      const a = createIssue(store, { title: 'a' });
      expect(readyIssues(store).map((i) => i.id)).toEqual([a.id]);
    } finally {
      store.close();
    }
  });
});
