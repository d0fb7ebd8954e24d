// The test host containers: reachable over ssh with host key verification, each with its own
// host key, and bare (no Node.js: putting it there is provisioning's job).
import { writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnection } from '../../coordinator/ssh/connection.js';
import { fingerprint, townKnownHostsPath } from '../../coordinator/ssh/known-hosts.js';
import { GtError } from '../../proto/index.js';
import { startTestHosts, type TestHosts } from '../hosts/containers.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';

let base: string;
let fleet: TestHosts;

beforeAll(async () => {
  base = tempDirUnmanaged('gt-th-');
  fleet = await startTestHosts(['h1', 'h2'], join(base, 'town', 'run', 'test-keys'));
});
afterAll(async () => {
  await fleet?.stop();
});

function townWith(lines: string[]): string {
  const town = join(base, `town-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(town, 'config'), { recursive: true });
  writeFileSync(townKnownHostsPath(town), lines.map((l) => `${l}\n`).join(''));
  return town;
}

describe('test hosts', () => {
  it('answer ssh with their own verified host key; keys are owner-only; no Node.js inside', async () => {
    expect(statSync(join(base, 'town', 'run', 'test-keys')).mode & 0o777).toBe(0o700);
    const [h1, h2] = fleet.hosts;
    if (h1 === undefined || h2 === undefined) throw new Error('two hosts expected');
    expect(h1.hostKeyBlob.equals(h2.hostKeyBlob)).toBe(false);
    const town = townWith([h1.knownHostsLine]);
    const target = {
      machine: 'h1',
      user: 'root',
      host: h1.host,
      port: h1.port,
      identityFile: fleet.clientKey,
    };
    const conn = await SshConnection.connect({ target, townRoot: town, userKnownHosts: null });
    const r = await conn.exec([
      'sh',
      '-c',
      'uname -m; command -v node || echo no-node; command -v git; command -v tmux',
    ]);
    expect(r.stdout.toString()).toMatch(
      /^(x86_64|aarch64)\nno-node\n\/usr\/bin\/git\n\/usr\/bin\/tmux\n$/,
    );
    await conn.close();

    // h2's key recorded for h1's address: refused as a changed key.
    const [, key] = h2.knownHostsLine.split(' ', 2);
    const wrong = townWith([
      `[${h1.host}]:${h1.port} ssh-ed25519 ${h2.knownHostsLine.split(' ')[2]}`,
    ]);
    expect(key).toBe('ssh-ed25519');
    const err = await SshConnection.connect({ target, townRoot: wrong, userKnownHosts: null }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GtError);
    expect((err as GtError).code).toBe('GT_HOST_KEY_CHANGED');
    expect((err as GtError).message).toContain(fingerprint(h1.hostKeyBlob));
    expect((err as GtError).message).toContain(fingerprint(h2.hostKeyBlob));
  });
});
