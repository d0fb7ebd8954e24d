// gt rig add from an ssh:// URL, against a real sshd on loopback with host key verification.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import { git, makeBareRepo } from '../helpers/git.js';
import { startSshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';

describe('gt rig add with an ssh URL', () => {
  it('clones over ssh with a verified host key, and rolls back completely on an unknown host key', async () => {
    const base = tempDir('gt-ssh-');
    const sshd = await startSshd(join(base, 'sshd'));
    onTestFinished(() => sshd.stop());
    const bare = makeBareRepo(join(base, 'repo'), { extraCommits: 1 });
    const url = `ssh://root@127.0.0.1:${sshd.port}${bare}`;
    const town = join(base, 'town');
    expect((await gt(['install', town])).code).toBe(0);
    const env = { GT_TOWN: town, GIT_SSH_COMMAND: sshd.gitSshCommand };

    const rig = await gtJson<{ name: string; git_url: string }>(['rig', 'add', 'remote', url], {
      env,
    });
    expect(rig).toMatchObject({ name: 'remote', git_url: url });
    for (const clone of ['refinery/rig', 'mayor/rig']) {
      const dir = join(town, 'remote', clone);
      expect(git(dir, 'remote', 'get-url', 'origin')).toBe(url);
      expect(git(dir, 'rev-parse', 'HEAD')).toBe(git(bare, 'rev-parse', 'main'));
    }
    expect(JSON.parse(readFileSync(join(town, 'remote', 'config.json'), 'utf8'))).toMatchObject({
      git_url: url,
    });

    // A host key we have never seen is refused, and nothing is left behind.
    writeFileSync(sshd.knownHosts, '');
    const refused = await gt(['rig', 'add', 'other', url], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Host key verification failed|No .* host key is known/);
    expect(refused.stderr).toMatch(/nothing was left behind/);
    expect(existsSync(join(town, 'other'))).toBe(false);
    const rigs = await gtJson<{ rigs: Array<{ name: string }> }>(['rigs'], { env });
    expect(rigs.rigs.map((r) => r.name)).toEqual(['remote']);
  });
});
