// The remote script that places the town's git identity on a machine, run here with dash as a
// machine runs it (argv + stdin): modes, the checksum it answers, removal, a town path with
// spaces and quotes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GIT_IDENTITY_SCRIPT } from './git-identity.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function run(args: string[], stdin = ''): string {
  return execFileSync('dash', ['-c', GIT_IDENTITY_SCRIPT, 'sh', ...args], {
    input: stdin,
    encoding: 'utf8',
  });
}

describe('GIT_IDENTITY_SCRIPT', () => {
  it('writes the key 0600 in a 0700 dir from stdin, known_hosts from argv, answers the sha256; removes both', () => {
    const base = realpathSync(mkdtempSync(join(tmpdir(), 'gt-gis-')));
    dirs.push(base);
    const town = join(base, `my town's "x" $HOME`);
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n';
    const kh = '10.0.0.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx\n';
    const outText = run([town, 'set', kh], key);
    const dir = join(town, 'config', 'git');
    expect(outText.slice(0, 64)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(readFileSync(join(dir, 'identity'), 'utf8')).toBe(key);
    expect(readFileSync(join(dir, 'known_hosts'), 'utf8')).toBe(kh);
    expect(statSync(join(dir, 'identity')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'known_hosts')).mode & 0o777).toBe(0o644);

    run([town, 'remove', '']);
    expect(() => statSync(join(dir, 'identity'))).toThrow();
    expect(() => statSync(join(dir, 'known_hosts'))).toThrow();
    // Removing what is not there is fine (a machine that never had it).
    expect(() => run([join(base, 'none'), 'remove', ''])).not.toThrow();
  });
});
