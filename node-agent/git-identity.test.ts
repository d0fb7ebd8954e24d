// How the town's git identity becomes git's ssh command: quoting that the shell (git runs
// core.sshCommand through `sh -c`) turns back into exactly the intended argv, and a clone's
// core.sshCommand following the identity (real git in a temp dir).
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyGitIdentity,
  gitIdentityPaths,
  identityCloneArgs,
  identitySshCommand,
  quoteForShell,
  townSshCommand,
} from './git-identity.js';
import { runGitForCode } from './git.js';

/** The argv `sh` makes of `command "$@"`, as git runs it: printed one per line by printf. */
function argvOf(command: string): string[] {
  const script = `${command.replace(/^ssh /, 'printf "%s\\n" ')} "$@"`;
  return execFileSync('sh', ['-c', script, 'sh', 'git@host', 'git-upload-pack'], {
    encoding: 'utf8',
  })
    .replace(/\n$/, '')
    .split('\n');
}

const dirs: string[] = [];
function temp(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'gt-gid-')));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('identitySshCommand', () => {
  it('builds the ssh argv: only the key, only the town known_hosts, strict, no prompt', () => {
    const cmd = identitySshCommand({ key: '/t/config/git/identity', knownHosts: '/t/kh' });
    expect(cmd).toBe(
      'ssh -i /t/config/git/identity -o IdentitiesOnly=yes -o UserKnownHostsFile=/t/kh -o StrictHostKeyChecking=yes -o BatchMode=yes',
    );
  });

  it('survives the shell whatever the town path holds (spaces, quotes, $, ;, backticks)', () => {
    const town = `/srv/my town/it's $HOME; \`id\` "x"`;
    const paths = gitIdentityPaths(town);
    expect(argvOf(identitySshCommand(paths))).toEqual([
      ...['-i', paths.key, '-o', 'IdentitiesOnly=yes'],
      ...['-o', `UserKnownHostsFile=${paths.knownHosts}`],
      ...['-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'],
      ...['git@host', 'git-upload-pack'],
    ]);
  });

  it('quotes only what needs it', () => {
    expect(quoteForShell('/a/b-c_d.e')).toBe('/a/b-c_d.e');
    expect(quoteForShell('a b')).toBe("'a b'");
    expect(quoteForShell("it's")).toBe(`'it'\\''s'`);
    expect(quoteForShell('')).toBe("''");
  });
});

describe('a clone follows the town identity', () => {
  it('is set when the town has a key, unset when it is removed, and a user value is kept', async () => {
    const town = temp();
    const clone = join(town, 'clone');
    execFileSync('git', ['init', '-q', clone]);
    const get = () => {
      try {
        return execFileSync('git', ['-C', clone, 'config', '--local', 'core.sshCommand'], {
          encoding: 'utf8',
        }).trim();
      } catch {
        return undefined;
      }
    };
    expect(townSshCommand(town)).toBeUndefined();
    expect(identityCloneArgs(town)).toEqual([]);
    expect(await applyGitIdentity(clone, town)).toBe('unchanged');
    expect(get()).toBeUndefined();

    const paths = gitIdentityPaths(town);
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.key, 'not read by this test', { mode: 0o600 });
    expect(identityCloneArgs(town)).toEqual(['-c', `core.sshCommand=${townSshCommand(town)}`]);
    expect(await applyGitIdentity(clone, town)).toBe('set');
    expect(get()).toBe(identitySshCommand(paths));
    expect(await applyGitIdentity(clone, town)).toBe('unchanged');

    rmSync(paths.key);
    expect(await applyGitIdentity(clone, town)).toBe('unset');
    expect(get()).toBeUndefined();

    execFileSync('git', ['-C', clone, 'config', 'core.sshCommand', 'ssh -p 2222']);
    expect(await applyGitIdentity(clone, town)).toBe('unchanged');
    expect(get()).toBe('ssh -p 2222');
  });
});

describe("git run by the node agent honours a clone's core.sshCommand", () => {
  it('over an inherited GIT_SSH_COMMAND, which is still used where the clone names none', async () => {
    const dir = temp();
    // Stand-in ssh programs that only record that they ran (no connection is made).
    const recorder = (name: string): string => {
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, `#!/bin/sh\necho ran > ${join(dir, name)}.ran\nexit 1\n`, {
        mode: 0o755,
      });
      return file;
    };
    const cloneSsh = recorder('clone-ssh');
    const envSsh = recorder('env-ssh');
    const repo = join(dir, 'repo');
    execFileSync('git', ['init', '-q', repo]);
    execFileSync('git', [
      '-C',
      repo,
      'remote',
      'add',
      'origin',
      'ssh://git@origin.invalid/app.git',
    ]);
    const saved = process.env.GIT_SSH_COMMAND;
    process.env.GIT_SSH_COMMAND = envSsh;
    try {
      const plain = await runGitForCode(['fetch', 'origin'], { cwd: repo });
      expect(plain.code).not.toBe(0);
      expect(existsSync(join(dir, 'env-ssh.ran'))).toBe(true);
      rmSync(join(dir, 'env-ssh.ran'));

      execFileSync('git', ['-C', repo, 'config', 'core.sshCommand', cloneSsh]);
      const own = await runGitForCode(['fetch', 'origin'], { cwd: repo });
      expect(own.code).not.toBe(0);
      expect(readFileSync(join(dir, 'clone-ssh.ran'), 'utf8')).toBe('ran\n');
      expect(existsSync(join(dir, 'env-ssh.ran'))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.GIT_SSH_COMMAND;
      else process.env.GIT_SSH_COMMAND = saved;
    }
  });
});
