// bd sync between two clones of one bare repo: field-rule merges, no conflict markers, tombstones
// stay dead.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { git, makeBareRepo } from '../../helpers/git.js';
import { startSshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/tmp.js';
import { bd, bdAsync, bdJson, readJsonl } from './bd-helper.js';

type Issue = Record<string, unknown> & { id: string };

function clone(bare: string, dir: string): string {
  git(join(dir, '..'), 'clone', '-q', bare, dir);
  return dir;
}

const byId = (dir: string) => new Map(readJsonl(dir).map((r) => [String(r.id), r]));

describe('bd sync between two clones', () => {
  it('merges conflicting edits by field rules; a delete beats an edit', () => {
    const tmp = tempDir('bd-sync-');
    const bare = makeBareRepo(tmp);
    const a = clone(bare, join(tmp, 'a'));
    bdJson(a, ['init', '--prefix', 'sy']);
    const x = bdJson<Issue>(a, ['create', 'X', '--notes', 'base']).id;
    const y = bdJson<Issue>(a, ['create', 'Y']).id;
    const z = bdJson<Issue>(a, ['create', 'Z']).id;
    const w = bdJson<Issue>(a, ['create', 'W']).id;
    bdJson(a, ['dep', 'add', x, w]);
    const first = bdJson<{ committed: boolean; pushed: boolean }>(a, ['sync']);
    expect(first).toMatchObject({ committed: true, pushed: true });

    const b = clone(bare, join(tmp, 'b'));
    expect(
      bdJson<Issue[]>(b, ['list'])
        .map((i) => i.id)
        .sort(),
    ).toEqual([x, y, z, w].sort());

    // side A
    bdJson(a, ['update', x, '--title', 'X by A', '--notes', 'from A'], { env: { BD_ACTOR: 'a' } });
    bdJson(a, ['delete', y], { env: { BD_ACTOR: 'a' } });
    bdJson(a, ['close', z, '-r', 'done by A']);
    bdJson(a, ['update', w, '--title', 'W by A']);
    bdJson(a, ['dep', 'remove', x, w]);
    const na = bdJson<Issue>(a, ['create', 'new on A']).id;
    bdJson(a, ['sync']);

    // side B (later timestamps)
    bdJson(b, ['update', x, '--priority', '0', '--notes', 'from B', '--add-label', 'b'], {
      env: { BD_ACTOR: 'b' },
    });
    bdJson(b, ['update', y, '--title', 'Y edited by B']);
    bdJson(b, ['update', z, '--assignee', 'bob']);
    bdJson(b, ['update', w, '--title', 'W by B']);
    const nb = bdJson<Issue>(b, ['create', 'new on B']).id;
    const syncB = bdJson<{ pulled: boolean; pushed: boolean; conflicts: string[] }>(b, ['sync']);
    expect(syncB).toMatchObject({ pulled: true, pushed: true });
    expect(syncB.conflicts).toEqual(expect.arrayContaining([x, y, z, w]));

    const syncA = bdJson<{ pulled: boolean }>(a, ['sync']);
    expect(syncA.pulled).toBe(true);

    for (const dir of [a, b]) {
      const text = readFileSync(join(dir, '.beads', 'issues.jsonl'), 'utf8');
      expect(text).not.toMatch(/^(<<<<<<<|=======|>>>>>>>)/m);
      const issues = byId(dir);
      expect(issues.get(x)).toMatchObject({ title: 'X by A', priority: 0, labels: ['b'] });
      expect(String(issues.get(x)?.notes)).toContain('from A');
      expect(String(issues.get(x)?.notes)).toContain('from B');
      expect(issues.get(x)).not.toHaveProperty('dependencies'); // removal wins
      expect(issues.get(y)).toMatchObject({ status: 'tombstone' }); // delete beats edit
      expect(issues.get(z)).toMatchObject({
        status: 'closed',
        close_reason: 'done by A',
        assignee: 'bob',
      });
      expect(issues.get(w)?.title).toBe('W by B'); // later updated_at wins
      expect(issues.has(na)).toBe(true);
      expect(issues.has(nb)).toBe(true);
      // the database agrees with the file
      expect(bdJson<Issue[]>(dir, ['list', '-s', 'all', '-n', '0']).length).toBe(issues.size);
      expect(bdJson<Issue[]>(dir, ['show', y])[0]?.status).toBe('tombstone');
    }
    expect(readFileSync(join(a, '.beads', 'issues.jsonl'), 'utf8')).toBe(
      readFileSync(join(b, '.beads', 'issues.jsonl'), 'utf8'),
    );
    expect(git(a, 'status', '--porcelain')).toBe('');
    expect(git(b, 'status', '--porcelain')).toBe('');
  });

  it('edits on different issues merge cleanly; sync with nothing to do is a no-op', () => {
    const tmp = tempDir('bd-sync-');
    const bare = makeBareRepo(tmp);
    const a = clone(bare, join(tmp, 'a'));
    bdJson(a, ['init', '--prefix', 'sy']);
    const p = bdJson<Issue>(a, ['create', 'P']).id;
    const q = bdJson<Issue>(a, ['create', 'Q']).id;
    bdJson(a, ['sync']);
    const b = clone(bare, join(tmp, 'b'));
    bdJson(a, ['update', p, '--status', 'in_progress']);
    bdJson(b, ['update', q, '--priority', '1']);
    bdJson(a, ['sync']);
    bdJson(b, ['sync']);
    bdJson(a, ['sync']);
    for (const dir of [a, b]) {
      expect(byId(dir).get(p)?.status).toBe('in_progress');
      expect(byId(dir).get(q)?.priority).toBe(1);
    }
    const again = bdJson<{ committed: boolean; pulled: boolean }>(a, ['sync']);
    expect(again).toMatchObject({ committed: false, pulled: false });
    const outside = tempDir('bd-');
    bdJson(outside, ['init', '--prefix', 'zz']);
    const noGit = bd(outside, ['sync']);
    expect(noGit.code).toBe(1);
    expect(noGit.stderr).toContain('is not inside a git repository');
  });

  it('writes by other agents during a sync are neither lost nor reverted', async () => {
    const tmp = tempDir('bd-sync-');
    const bare = makeBareRepo(tmp);
    const a = clone(bare, join(tmp, 'a'));
    bdJson(a, ['init', '--prefix', 'sy']);
    const shared = bdJson<Issue>(a, ['create', 'shared']).id;
    bdJson(a, ['sync']);
    const b = clone(bare, join(tmp, 'b'));
    bdJson(b, ['list']);
    bdJson(a, ['update', shared, '--title', 'renamed upstream']);
    const upstreamNew = bdJson<Issue>(a, ['create', 'made upstream']).id;
    bdJson(a, ['sync']);
    const jobs = [
      bdAsync(b, ['sync', '--json']),
      ...Array.from({ length: 6 }, (_, n) =>
        bdAsync(b, ['create', `during sync ${n}`, '--json'], { env: { BD_ACTOR: `agent-${n}` } }),
      ),
    ];
    const results = await Promise.all(jobs);
    for (const r of results) expect(r.stderr).toBe('');
    bdJson(b, ['sync']);
    bdJson(a, ['sync']);
    for (const dir of [a, b]) {
      const issues = byId(dir);
      expect(issues.get(shared)?.title).toBe('renamed upstream');
      expect(issues.has(upstreamNew)).toBe(true);
      const titles = [...issues.values()].map((i) => i.title);
      for (let n = 0; n < 6; n++) expect(titles).toContain(`during sync ${n}`);
      expect(bdJson<Issue[]>(dir, ['list', '-n', '0'])).toHaveLength(issues.size);
    }
  });

  it('against an ssh remote that would prompt, fails at once with the reason instead of hanging', async () => {
    const tmp = tempDir('bd-sync-');
    const bare = makeBareRepo(tmp);
    const sshd = await startSshd(join(tmp, 'sshd'));
    onTestFinished(() => sshd.stop());
    const a = clone(bare, join(tmp, 'a'));
    bdJson(a, ['init', '--prefix', 'sp']);
    bdJson(a, ['create', 'X']);
    // The remote's host key is unknown here, so ssh would ask whether to trust it. The "user"
    // answering is an askpass program that never answers (and leaves a mark if it was asked).
    git(a, 'remote', 'set-url', 'origin', `ssh://root@127.0.0.1:${sshd.port}${bare}`);
    const asked = join(tmp, 'asked');
    const askpass = join(tmp, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\ntouch '${asked}'\nexec sleep 300\n`, { mode: 0o755 });
    const result = bd(a, ['sync'], {
      env: {
        GIT_SSH_COMMAND: undefined,
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: 'force',
        DISPLAY: ':0',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: git fetch -q origin main .*Host key verification failed/m,
    );
    expect(result.stderr).toMatch(/^hint: .*known_hosts/m);
    expect(existsSync(asked)).toBe(false);
  });
});
