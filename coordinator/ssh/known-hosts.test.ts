import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/tmp.js';
import {
  createHostKeyCheck,
  entryNamesHost,
  fingerprint,
  hostKeyName,
  parseKnownHosts,
  townKnownHostsPath,
} from './known-hosts.js';

/** A real key pair made by ssh-keygen; returns the public key blob and its `.pub` line. */
function makeKey(dir: string, name: string, type = 'ed25519'): { blob: Buffer; pub: string } {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
  const pub = readFileSync(`${file}.pub`, 'utf8').trim();
  return { blob: Buffer.from(pub.split(' ')[1] ?? '', 'base64'), pub };
}

function townWith(dir: string, knownHosts?: string): string {
  const town = join(dir, 'town');
  mkdirSync(join(town, 'config'), { recursive: true });
  if (knownHosts !== undefined) writeFileSync(townKnownHostsPath(town), knownHosts);
  return town;
}

describe('known_hosts parsing and matching', () => {
  it('names hosts as OpenSSH does, with wildcards and negation', () => {
    expect(hostKeyName('h', 22)).toBe('h');
    expect(hostKeyName('h', 2222)).toBe('[h]:2222');
    expect(entryNamesHost('a.example,b.example', 'b.example', 22)).toBe(true);
    expect(entryNamesHost('a.example', 'a.example', 2222)).toBe(false);
    expect(entryNamesHost('[a.example]:2222', 'a.example', 2222)).toBe(true);
    expect(entryNamesHost('*.example,!bad.example', 'good.example', 22)).toBe(true);
    expect(entryNamesHost('*.example,!bad.example', 'bad.example', 22)).toBe(false);
    expect(entryNamesHost('h?st', 'host', 22)).toBe(true);
    expect(entryNamesHost('a.b', 'aXb', 22)).toBe(false);
  });

  it('matches hashed entries written by ssh-keygen -H, for port 22 and [host]:port', () => {
    const dir = tempDir();
    const { pub } = makeKey(dir, 'k');
    const [type, b64] = pub.split(' ');
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `10.1.2.3 ${type} ${b64}\n[10.1.2.3]:2200 ${type} ${b64}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(entries).toHaveLength(2);
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    const names = (host: string, port: number): number =>
      entries.filter((e) => entryNamesHost(e.hosts, host, port)).length;
    expect(names('10.1.2.3', 22)).toBe(1);
    expect(names('10.1.2.3', 2200)).toBe(1);
    expect(names('10.1.2.3', 2201)).toBe(0);
    expect(names('10.1.2.4', 22)).toBe(0);
  });

  it('skips comments, garbage and lines whose blob does not carry the stated type', () => {
    const dir = tempDir();
    const { pub } = makeKey(dir, 'k');
    const [type, b64] = pub.split(' ');
    const entries = parseKnownHosts(
      `# comment\n\nonlyonefield\nh ssh-rsa ${b64}\n@revoked h ${type} ${b64}\n@cert-authority *.x ${type} ${b64}\nh ${type} ${b64} a comment\n`,
    );
    expect(entries.map((e) => [e.marker, e.hosts])).toEqual([
      ['revoked', 'h'],
      ['cert-authority', '*.x'],
      [undefined, 'h'],
    ]);
  });

  it('fingerprints like ssh-keygen -l', () => {
    const dir = tempDir();
    const { blob } = makeKey(dir, 'k');
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')], {
      encoding: 'utf8',
    });
    expect(out.split(' ')[1]).toBe(fingerprint(blob));
  });
});

describe('host key check', () => {
  it('refuses an unknown key unless accepted, then records it in the town file', () => {
    const dir = tempDir();
    const town = townWith(dir);
    const { blob } = makeKey(dir, 'host');
    const strict = createHostKeyCheck({
      townRoot: town,
      host: '127.0.0.1',
      port: 2222,
      userKnownHosts: null,
    });
    expect(strict.verify(blob)).toBe(false);
    expect(strict.refusal()?.code).toBe('GT_HOST_KEY_UNKNOWN');
    expect(strict.refusal()?.message).toContain(fingerprint(blob));
    expect(strict.refusal()?.hint).toContain('--accept-host-key');

    const accepting = createHostKeyCheck({
      townRoot: town,
      host: '127.0.0.1',
      port: 2222,
      accept: true,
      userKnownHosts: null,
    });
    expect(accepting.verify(blob)).toBe(true);
    expect(accepting.seen()).toMatchObject({ recorded: true, fingerprint: fingerprint(blob) });
    expect(readFileSync(townKnownHostsPath(town), 'utf8')).toBe(
      `[127.0.0.1]:2222 ssh-ed25519 ${blob.toString('base64')}\n`,
    );
    const again = createHostKeyCheck({
      townRoot: town,
      host: '127.0.0.1',
      port: 2222,
      userKnownHosts: null,
    });
    expect(again.verify(blob)).toBe(true);
    expect(again.serverHostKey).toEqual(['ssh-ed25519']);
  });

  it('refuses a changed key even with accept, naming both fingerprints and the fix', () => {
    const dir = tempDir();
    const old = makeKey(dir, 'old');
    const now = makeKey(dir, 'new');
    const town = townWith(dir, `[h.example]:2222 ${old.pub.split(' ').slice(0, 2).join(' ')}\n`);
    const check = createHostKeyCheck({
      townRoot: town,
      host: 'h.example',
      port: 2222,
      accept: true,
      userKnownHosts: null,
    });
    expect(check.verify(now.blob)).toBe(false);
    const err = check.refusal();
    expect(err?.code).toBe('GT_HOST_KEY_CHANGED');
    expect(err?.message).toContain(fingerprint(old.blob));
    expect(err?.message).toContain(fingerprint(now.blob));
    expect(err?.hint).toContain(`ssh-keygen -R '[h.example]:2222' -f ${townKnownHostsPath(town)}`);
    expect(readFileSync(townKnownHostsPath(town), 'utf8')).not.toContain(
      now.blob.toString('base64'),
    );
  });

  it("seeds the town file from the user's hashed known_hosts and honours @revoked", () => {
    const dir = tempDir();
    const town = townWith(dir);
    const key = makeKey(dir, 'host');
    const bad = makeKey(dir, 'bad');
    const user = join(dir, 'user_known_hosts');
    const [type, b64] = key.pub.split(' ');
    writeFileSync(user, `[10.0.0.9]:2022 ${type} ${b64}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', user]);
    const check = createHostKeyCheck({
      townRoot: town,
      host: '10.0.0.9',
      port: 2022,
      userKnownHosts: user,
    });
    expect(check.verify(key.blob)).toBe(true);
    expect(readFileSync(townKnownHostsPath(town), 'utf8')).toContain(
      `[10.0.0.9]:2022 ${type} ${b64}`,
    );

    writeFileSync(user, `@revoked * ${bad.pub.split(' ').slice(0, 2).join(' ')}\n`);
    const revoked = createHostKeyCheck({
      townRoot: town,
      host: 'other',
      port: 22,
      accept: true,
      userKnownHosts: user,
    });
    expect(revoked.verify(bad.blob)).toBe(false);
    expect(revoked.refusal()?.message).toMatch(/revoked/);
  });
});
