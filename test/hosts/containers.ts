// Test hosts: bare Debian containers (test/hosts/image.ts) started in parallel with
// testcontainers, each with its own freshly generated ed25519 host key and root's
// authorized_keys holding a client key made for the test. Keys live in a directory the caller
// owns (mode 0700, under the test's temp town), never in /tmp directly. Reached only through the
// port testcontainers publishes on 127.0.0.1.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { StartedTestContainer } from 'testcontainers';
import { ensureTestHostImage } from './image.js';

const execFileP = promisify(execFile);

export interface TestHost {
  name: string;
  host: string;
  port: number;
  container: StartedTestContainer;
  /** The `[127.0.0.1]:port ssh-ed25519 …` line for a known_hosts file. */
  knownHostsLine: string;
  hostKeyBlob: Buffer;
  /** Run a command in the container as root (docker exec, not ssh). */
  run(argv: string[]): Promise<{ exitCode: number; output: string }>;
}

export interface TestHosts {
  hosts: TestHost[];
  /** Private key that logs in as root on every host (0600). */
  clientKey: string;
  stop(): Promise<void>;
}

async function keygen(file: string): Promise<string> {
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gt-test', '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** Docker CLI on a container (pause, unpause, kill): the test's own containers only. */
export async function docker(args: string[]): Promise<string> {
  return (await execFileP('docker', args)).stdout;
}

/**
 * Start `names.length` test hosts in parallel. `keyDir` is created 0700 and holds the client key
 * and the host keys. Stop them with `stop()` in afterAll.
 */
export async function startTestHosts(names: string[], keyDir: string): Promise<TestHosts> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const image = await ensureTestHostImage();
  const { GenericContainer } = await import('testcontainers');
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  chmodSync(keyDir, 0o700);
  const clientKey = join(keyDir, 'client_key');
  const clientPub = await keygen(clientKey);
  const started = await Promise.allSettled(
    names.map(async (name): Promise<TestHost> => {
      const hostKeyFile = join(keyDir, `host_${name}`);
      const hostPub = await keygen(hostKeyFile);
      const container = await new GenericContainer(image)
        .withName(`gt-test-${name}-${process.pid}-${Date.now().toString(36)}`)
        .withExposedPorts(22)
        .withCopyContentToContainer([
          { content: `${clientPub}\n`, target: '/root/.ssh/authorized_keys', mode: 0o600 },
          { content: readFileSync(hostKeyFile), target: '/etc/ssh/gt_host_key', mode: 0o600 },
        ])
        .withCommand(['/usr/sbin/sshd', '-D', '-e', '-o', 'HostKey=/etc/ssh/gt_host_key'])
        .withStartupTimeout(60_000)
        .start();
      const port = container.getMappedPort(22);
      const host = container.getHost();
      const typeAndKey = hostPub.split(' ').slice(0, 2);
      return {
        name,
        host,
        port,
        container,
        knownHostsLine: `[${host}]:${port} ${typeAndKey.join(' ')}`,
        hostKeyBlob: Buffer.from(typeAndKey[1] ?? '', 'base64'),
        run: async (argv) => {
          const r = await container.exec(argv);
          return { exitCode: r.exitCode, output: r.output };
        },
      };
    }),
  );
  const hosts = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.allSettled(hosts.map((h) => h.container.stop({ timeout: 1000 })));
  };
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { hosts, clientKey, stop };
}
