// The README's test command is what CI runs, on a machine prepared by one script; a test that
// needs a missing system piece names that script instead of failing with a bare ENOENT.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireDocker, SETUP_HOST } from '../helpers/host.js';
import { startSshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';

const root = join(import.meta.dirname, '..', '..');

/** The command lines of the README's "Run the tests" code block. */
function readmeTestCommands(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf('Run the tests');
  expect(at).toBeGreaterThan(-1);
  const block = /```bash\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block).not.toBeNull();
  return block![1]!.split('\n').filter((l) => l.trim() !== '');
}

/** .ci/run's commands: everything but the shebang, comments, `set` and the `cd` to the root. */
function ciRunCommands(): string[] {
  return readFileSync(join(root, '.ci', 'run'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^(set|cd) /.test(l));
}

describe('the README test command on a fresh machine', () => {
  it('.ci/run runs the setup script and then the README test command, verbatim', () => {
    const readme = readmeTestCommands();
    expect(readme).toEqual([SETUP_HOST, 'npm install && npm test']);
    expect(ciRunCommands()).toEqual(readme);
  });

  it('test/setup-host.sh exists, is executable, parses, and installs every package the suite needs', () => {
    const script = join(root, SETUP_HOST);
    accessSync(script, constants.X_OK);
    execFileSync('bash', ['-n', script]);
    const text = readFileSync(script, 'utf8');
    for (const pkg of [
      'git',
      'tmux',
      'openssh-server',
      'openssh-client',
      'debootstrap',
      'docker.io',
      'make',
      'g++',
      'python3',
      'chromium',
      'iproute2',
      'util-linux',
    ])
      expect(text).toContain(`need_pkgs+=(${pkg})`);
    expect(text).toContain('dockerd');
    expect(text).toContain('git config --global user.email');
  });

  it('a test that needs sshd says to run test/setup-host.sh when sshd is missing', async () => {
    const dir = tempDir();
    await expect(
      startSshd(join(dir, 'sshd'), { sshdBinary: join(dir, 'no-such-sshd') }),
    ).rejects.toThrow(
      /no-such-sshd \(Debian package openssh-server\)[\s\S]*hint: run test\/setup-host\.sh/,
    );
  });

  it('a test that needs docker says to run test/setup-host.sh when docker is missing', () => {
    expect(() => requireDocker('/nonexistent/docker')).toThrow(
      /running Docker engine[\s\S]*hint: run test\/setup-host\.sh/,
    );
  });
});
