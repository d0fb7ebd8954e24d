// The coordinator's SSH connection against a real sshd on loopback: host key verification (ssh2
// accepts any key without a verifier; ours refuses), argv quoting of hostile inputs through a real
// remote shell, and each failure kind classified.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnection } from '../../coordinator/ssh/connection.js';
import { fingerprint, townKnownHostsPath } from '../../coordinator/ssh/known-hosts.js';
import { GtError } from '../../proto/index.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { tempDir, tempDirUnmanaged } from '../helpers/tmp.js';

let base: string;
let sshd: TestSshd;

beforeAll(async () => {
  base = tempDirUnmanaged('gt-sshc-');
  sshd = await startSshd(join(base, 'sshd'));
});
afterAll(async () => {
  await sshd.stop();
  execFileSync('rm', ['-rf', base]);
});

function town(knownHosts?: string): string {
  const root = join(tempDir('gt-town-'), 'town');
  mkdirSync(join(root, 'config'), { recursive: true });
  if (knownHosts !== undefined) writeFileSync(townKnownHostsPath(root), knownHosts);
  return root;
}

function target(port = sshd.port, identityFile = sshd.clientKey) {
  return { machine: 'm1', user: 'root', host: '127.0.0.1', port, identityFile };
}

async function refusal(p: Promise<unknown>): Promise<GtError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GtError);
  return err as GtError;
}

describe('host key verification against a real sshd', () => {
  it('plain ssh2 without a verifier accepts a wrong key; ours refuses it with both fingerprints', async () => {
    const other = join(tempDir(), 'other');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const wrong = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const root = town(`[127.0.0.1]:${sshd.port} ${wrong}\n`);

    // The control: ssh2 on its own connects happily to a host whose key we do not know.
    const plain = new Client();
    await new Promise<void>((resolve, reject) => {
      plain.once('ready', resolve).once('error', reject);
      plain.connect({
        host: '127.0.0.1',
        port: sshd.port,
        username: 'root',
        privateKey: readFileSync(sshd.clientKey),
      });
    });
    plain.end();

    const err = await refusal(
      SshConnection.connect({
        target: target(),
        townRoot: root,
        acceptHostKey: true,
        userKnownHosts: null,
      }),
    );
    expect(err.code).toBe('GT_HOST_KEY_CHANGED');
    expect(err.message).toContain(fingerprint(Buffer.from(wrong.split(' ')[1] ?? '', 'base64')));
    expect(err.message).toContain(fingerprint(sshd.hostKeyBlob));
    expect(err.hint).toContain(`ssh-keygen -R '[127.0.0.1]:${sshd.port}'`);
    expect(readFileSync(townKnownHostsPath(root), 'utf8')).toBe(
      `[127.0.0.1]:${sshd.port} ${wrong}\n`,
    );
  });

  it('refuses an unknown key without accept, records it with accept, then connects strictly', async () => {
    const root = town();
    const err = await refusal(
      SshConnection.connect({ target: target(), townRoot: root, userKnownHosts: null }),
    );
    expect(err.code).toBe('GT_HOST_KEY_UNKNOWN');
    expect(err.message).toContain(fingerprint(sshd.hostKeyBlob));
    expect(existsSync(townKnownHostsPath(root))).toBe(false);

    const first = await SshConnection.connect({
      target: target(),
      townRoot: root,
      acceptHostKey: true,
      userKnownHosts: null,
    });
    expect(first.hostKey).toMatchObject({
      recorded: true,
      fingerprint: fingerprint(sshd.hostKeyBlob),
    });
    await first.close();
    const again = await SshConnection.connect({
      target: target(),
      townRoot: root,
      userKnownHosts: null,
    });
    expect(again.hostKey?.recorded).toBe(false);
    const r = await again.exec(['echo', 'ok']);
    expect(r.stdout.toString()).toBe('ok\n');
    await again.close();
  });

  it("seeds from the user's known_hosts (the helper's [127.0.0.1]:port line)", async () => {
    const root = town();
    const conn = await SshConnection.connect({
      target: target(),
      townRoot: root,
      userKnownHosts: sshd.knownHosts,
    });
    await conn.close();
    expect(readFileSync(townKnownHostsPath(root), 'utf8')).toContain(
      `[127.0.0.1]:${sshd.port} ssh-ed25519 `,
    );
  });
});

describe('remote commands', () => {
  it('passes hostile arguments through the remote shell unchanged', async () => {
    const root = town(readFileSync(sshd.knownHosts, 'utf8'));
    const conn = await SshConnection.connect({
      target: target(),
      townRoot: root,
      userKnownHosts: null,
    });
    const canary = join(tempDir(), 'canary');
    const hostile = [
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `; touch ${canary}`,
      `a'b"c`,
      `'`,
      `''`,
      '',
      ' leading and trailing ',
      'new\nline',
      'tab\there',
      '*',
      '~',
      '-n',
      '$HOME',
      '\\',
      '!event',
      'ünïcødé ✓',
      `| touch ${canary} &`,
      `> ${canary}`,
    ];
    const r = await conn.exec(['printf', '%s\\0', ...hostile]);
    expect(r.code).toBe(0);
    const got = r.stdout.toString('utf8').split('\0').slice(0, -1);
    expect(got).toEqual(hostile);
    expect(existsSync(canary)).toBe(false);
    await conn.close();
  });
});

describe('failures are classified', () => {
  it('authentication: a key the host does not know', async () => {
    const bad = join(tempDir(), 'bad');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', bad]);
    const root = town(readFileSync(sshd.knownHosts, 'utf8'));
    const err = await refusal(
      SshConnection.connect({
        target: target(sshd.port, bad),
        townRoot: root,
        userKnownHosts: null,
      }),
    );
    expect(err.code).toBe('GT_SSH_AUTH_FAILED');
    expect(err.hint).toContain(`${bad}.pub`);
  });

  it('connection refused, and a timeout on a port that never speaks ssh', async () => {
    const root = town();
    const held: Socket[] = [];
    const silent: Server = createServer((s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const timeout = await refusal(
        SshConnection.connect({
          target: target(port),
          townRoot: root,
          readyTimeoutMs: 500,
          userKnownHosts: null,
        }),
      );
      expect(timeout.code).toBe('GT_SSH_TIMEOUT');
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
    const refused = await refusal(
      SshConnection.connect({ target: target(port), townRoot: root, userKnownHosts: null }),
    );
    expect(refused.code).toBe('GT_SSH_REFUSED');
    expect(refused.message).toContain(`root@127.0.0.1:${port}`);
  });

  it('a channel refused by sshd (MaxSessions 1: the held session takes the only one)', async () => {
    const dir = join(tempDir(), 'sshd');
    const limited = await startSshd(dir, { extraConfig: ['MaxSessions 1'] });
    try {
      const root = town(readFileSync(limited.knownHosts, 'utf8'));
      const conn = await SshConnection.connect({
        target: target(limited.port, limited.clientKey),
        townRoot: root,
        userKnownHosts: null,
      });
      const err = await refusal(conn.exec(['true']));
      expect(err.code).toBe('GT_SSH_CHANNEL_REFUSED');
      await conn.close();
    } finally {
      await limited.stop();
    }
  });
});
