// A real sshd on 127.0.0.1 for tests (no container needed): its own host key, config, and an
// authorized client key; the caller gets a known_hosts line and a GIT_SSH_COMMAND that verifies it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { requireHostBinary } from './host.js';

export interface TestSshd {
  port: number;
  /** Public key blob of the host key (what a client is shown). */
  hostKeyBlob: Buffer;
  clientKey: string;
  knownHosts: string;
  /** ssh command for GIT_SSH_COMMAND: our key, our known_hosts, strict host key checking. */
  gitSshCommand: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr !== null
          ? resolve(addr.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('sshd did not start listening');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface StartSshdOptions {
  /** Extra sshd_config lines (e.g. `AllowStreamLocalForwarding no`, `MaxSessions 1`). */
  extraConfig?: string[];
  /** For the test of the missing-sshd message; everything else uses the default. */
  sshdBinary?: string;
}

export async function startSshd(dir: string, options: StartSshdOptions = {}): Promise<TestSshd> {
  const sshdBinary = options.sshdBinary ?? '/usr/sbin/sshd';
  requireHostBinary(sshdBinary, 'openssh-server');
  requireHostBinary('/usr/bin/ssh-keygen', 'openssh-client');
  mkdirSync(dir, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true });
  const hostKey = join(dir, 'host_key');
  const clientKey = join(dir, 'client_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      ...(options.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  const child = spawn(sshdBinary, ['-D', '-e', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await waitForPort(port, child);
  const knownHosts = join(dir, 'known_hosts');
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
  const gitSshCommand = `ssh -i ${clientKey} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts}`;
  return {
    port,
    hostKeyBlob: Buffer.from(hostPub.split(' ')[1] ?? '', 'base64'),
    clientKey,
    knownHosts,
    gitSshCommand,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
