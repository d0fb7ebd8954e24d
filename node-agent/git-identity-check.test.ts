// The doctor's look at the town's git identity, on real files: absent is fine; a key others can
// read is an error that --fix repairs; a non-key and an empty known_hosts are errors to set again.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GIT_IDENTITY_CHECK } from './git-identity-check.js';
import { gitIdentityPaths } from './git-identity.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the git-identity doctor check', () => {
  it('absent: ok; loose mode: error, repaired; not a key and no trusted host: errors', async () => {
    const town = realpathSync(mkdtempSync(join(tmpdir(), 'gt-gic-')));
    dirs.push(town);
    const run = () => GIT_IDENTITY_CHECK.run({ townRoot: town });
    expect(await run()).toEqual([]);

    const paths = gitIdentityPaths(town);
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n';
    writeFileSync(paths.key, key, { mode: 0o644 });
    writeFileSync(paths.knownHosts, '10.0.0.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n');
    const loose = await run();
    expect(loose).toHaveLength(1);
    expect(loose[0]).toMatchObject({ status: 'error' });
    expect(loose[0]?.message).toMatch(/can be read by others \(mode 0644\)/);
    expect(await loose[0]?.repair?.()).toBe(`made ${paths.key} owner-only (0600)`);
    expect(statSync(paths.key).mode & 0o777).toBe(0o600);
    expect(await run()).toEqual([]);

    writeFileSync(paths.key, 'ssh-ed25519 AAAA a public key\n', { mode: 0o600 });
    writeFileSync(paths.knownHosts, '# nothing trusted\n');
    const broken = await run();
    expect(broken.map((p) => p.message)).toEqual([
      `${paths.key} is not a private key`,
      `${paths.knownHosts} trusts no host key: every origin over ssh is refused`,
    ]);
    for (const p of broken) expect(p.hint).toMatch(/gt git-identity set KEY --known-hosts FILE/);
  });
});
