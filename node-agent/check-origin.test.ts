// CheckOrigin's answers for path origins (real git, temp dirs) and its reading of git's and ssh's
// refusals. The ssh cases (identity, wrong key, host key) run against a real git server in
// test/e2e/git-identity.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GtError } from '../proto/index.js';
import {
  PATH_ORIGIN_HINT,
  assertOriginUsable,
  checkOrigin,
  originHint,
  originPath,
} from './check-origin.js';

const dirs: string[] = [];
function temp(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'gt-co-')));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('originPath', () => {
  it('tells path origins from network ones', () => {
    expect(originPath('/srv/repos/app.git')).toBe('/srv/repos/app.git');
    expect(originPath('file:///srv/repos/a%20b.git')).toBe('/srv/repos/a b.git');
    expect(originPath('ssh://git@10.0.0.5/srv/git/app.git')).toBeUndefined();
    expect(originPath('https://example.invalid/app.git')).toBeUndefined();
    expect(originPath('git@example.invalid:team/app.git')).toBeUndefined();
  });
});

describe('originHint', () => {
  it('names the fix for each kind of refusal', () => {
    expect(originHint('Host key verification failed.', 'w1', true)).toMatch(
      /w1 does not trust .*host key.*gt git-identity set KEY --known-hosts FILE/,
    );
    expect(originHint('git@10.0.0.5: Permission denied (publickey).', 'w1', false)).toMatch(
      /set the town's git identity with `gt git-identity set KEY --known-hosts FILE`/,
    );
    expect(
      originHint(
        'ERROR: The key you are authenticating with has been marked as read only.',
        'w1',
        true,
      ),
    ).toMatch(/refuses the town's git identity.*write access/);
    expect(
      originHint('ssh: connect to host 10.0.0.5 port 22: Connection refused', 'w1', false),
    ).toMatch(/w1 cannot connect/);
    expect(
      originHint("fatal: '/srv/x.git' does not appear to be a git repository", 'w1', false),
    ).toMatch(/origin URL/);
  });
});

describe('checkOrigin on path origins', () => {
  it('a bare repository here: reachable and pushable; nothing was pushed', async () => {
    const base = temp();
    const bare = join(base, 'origin.git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    const check = await checkOrigin({ townRoot: base, machine: 'w1', url: bare });
    expect(check).toEqual({
      reachable: true,
      pushable: true,
      detail: `w1 reaches ${bare} and may push to it`,
      hint: '',
    });
    expect(execFileSync('git', ['-C', bare, 'for-each-ref'], { encoding: 'utf8' })).toBe('');
    // The probe's scratch repository is all it leaves (reused by the next check).
    expect(execFileSync('ls', [join(base, 'run')], { encoding: 'utf8' })).toBe('origin-probe\n');
    await expect(
      assertOriginUsable({ townRoot: base, machine: 'w1', url: `file://${bare}` }),
    ).resolves.toMatchObject({ pushable: true });
  });

  it('a positive answer is reused (not a refusal); maxAgeMs 0 asks afresh', async () => {
    const base = temp();
    const bare = join(base, 'origin.git');
    execFileSync('git', ['init', '-q', '--bare', bare]);
    const ask = (maxAgeMs?: number) =>
      checkOrigin({ townRoot: base, machine: 'w1', url: bare, maxAgeMs });
    expect((await ask()).pushable).toBe(true);
    rmSync(bare, { recursive: true });
    expect((await ask()).pushable).toBe(true);
    expect(await ask(0)).toMatchObject({ reachable: false, pushable: false });
    // The refusal replaced the cached answer.
    expect((await ask()).reachable).toBe(false);
  });

  it('a path this machine does not have: not reachable, with the fix', async () => {
    const base = temp();
    const url = join(base, 'elsewhere', 'app.git');
    const check = await checkOrigin({ townRoot: base, machine: 'w2', url });
    expect(check).toMatchObject({ reachable: false, pushable: false, hint: PATH_ORIGIN_HINT });
    expect(check.detail).toBe(
      `w2 has no ${url}: the rig's origin ${url} is a path on another machine`,
    );
    const refused = await assertOriginUsable({ townRoot: base, machine: 'w2', url }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(GtError);
    expect(refused).toMatchObject({ code: 'GT_ORIGIN_UNREACHABLE', hint: PATH_ORIGIN_HINT });
  });

  it("a directory that is not a repository: not reachable, with git's reason", async () => {
    const base = temp();
    const check = await checkOrigin({ townRoot: base, machine: 'w1', url: base });
    expect(check.reachable).toBe(false);
    expect(check.detail).toMatch(/^w1 cannot reach .*not .*git repository/i);
    expect(check.hint).toMatch(/origin URL/);
  });
});
