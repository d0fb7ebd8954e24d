/**
 * Host keys: the town's known_hosts (config/known_hosts), seeded from the user's
 * ~/.ssh/known_hosts, and the verifier handed to ssh2. ssh2 accepts every key when no verifier is
 * set; ours accepts a key only when it is already known for this host (town file, else user file —
 * then it is copied into the town file), or when the caller explicitly accepts a first contact.
 * A key that differs from a known one is always refused, with both fingerprints and the fix.
 *
 * Understood: plain host patterns with `*`/`?`/`!`, `[host]:port` for non-22 ports, hashed
 * `|1|salt|hash` entries (HMAC-SHA1), `@revoked` (refused) and `@cert-authority` (ignored:
 * we do not do host certificates).
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { GtError } from '../../proto/index.js';

export interface KnownHostEntry {
  marker: 'revoked' | 'cert-authority' | undefined;
  /** The raw host field: comma-separated patterns, or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  key: Buffer;
}

export function townKnownHostsPath(townRoot: string): string {
  return join(townRoot, 'config', 'known_hosts');
}

export function userKnownHostsPath(): string {
  return join(homedir(), '.ssh', 'known_hosts');
}

/** The name OpenSSH looks a host up by: `host` on port 22, `[host]:port` elsewhere. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH's fingerprint of a key blob: `SHA256:` + unpadded base64 of its sha256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside an SSH public key blob (first length-prefixed string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  if (len > key.length - 4 || len > 64) return 'unknown';
  return key.subarray(4, 4 + len).toString('latin1');
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked') marker = 'revoked';
    else if (fields[0] === '@cert-authority') marker = 'cert-authority';
    else if (fields[0]?.startsWith('@') === true) continue;
    if (marker !== undefined) fields.shift();
    const [hosts, keyType, b64] = fields;
    if (hosts === undefined || keyType === undefined || b64 === undefined) continue;
    const key = Buffer.from(b64, 'base64');
    if (key.length === 0 || keyTypeOf(key) !== keyType) continue;
    entries.push({ marker, hosts, keyType, key });
  }
  return entries;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

/** Does this entry's host field name `host` on `port` (OpenSSH's matching rules)? */
export function entryNamesHost(hosts: string, host: string, port: number): boolean {
  const name = hostKeyName(host, port);
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (salt === undefined || hash === undefined) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    const negated = pattern.startsWith('!');
    const p = negated ? pattern.slice(1) : pattern;
    if (!globToRegExp(p).test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

export interface KnownKey {
  keyType: string;
  key: Buffer;
  file: string;
}

export interface HostKeyLookup {
  known: KnownKey[];
  revoked: KnownKey[];
}

function readEntries(file: string): KnownHostEntry[] {
  if (!existsSync(file)) return [];
  try {
    return parseKnownHosts(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

/** The keys the given files hold for a host, in file order. */
export function lookupHostKeys(files: string[], host: string, port: number): HostKeyLookup {
  const known: KnownKey[] = [];
  const revoked: KnownKey[] = [];
  for (const file of files) {
    for (const e of readEntries(file)) {
      if (e.marker === 'cert-authority' || !entryNamesHost(e.hosts, host, port)) continue;
      (e.marker === 'revoked' ? revoked : known).push({ keyType: e.keyType, key: e.key, file });
    }
  }
  return { known, revoked };
}

/** Append a plain `[host]:port type base64` line to the town's known_hosts. */
export function recordHostKey(file: string, host: string, port: number, key: Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${hostKeyName(host, port)} ${keyTypeOf(key)} ${key.toString('base64')}\n`, {
    mode: 0o644,
  });
}

/** ssh2's host key algorithm names for a key type found in known_hosts. */
const ALGORITHMS_FOR_KEY_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export interface HostKeyCheckOptions {
  townRoot: string;
  host: string;
  port: number;
  /** Record an unknown key on first contact (the user said yes). Never accepts a changed key. */
  accept?: boolean;
  /** With accept: record the key only if it has this fingerprint (the one the user was shown). */
  acceptFingerprint?: string | undefined;
  /** Defaults to ~/.ssh/known_hosts; `null` to not consult one. */
  userKnownHosts?: string | null;
}

export interface HostKeyCheck {
  /** For ssh2's `hostVerifier`. */
  verify(key: Buffer): boolean;
  /**
   * For ssh2's `algorithms.serverHostKey`: when keys are known, ask only for their types (as
   * OpenSSH does), so a host with several keys shows the one we know instead of "changed".
   */
  serverHostKey: string[] | undefined;
  /** Why the last verify() refused, as the error to show. */
  refusal(): GtError | undefined;
  /** What the last verify() saw: the fingerprint and whether it was newly recorded. */
  seen(): { fingerprint: string; keyType: string; recorded: boolean } | undefined;
}

function describeKey(k: { keyType: string; key: Buffer }): string {
  return `${k.keyType} ${fingerprint(k.key)}`;
}

export function createHostKeyCheck(options: HostKeyCheckOptions): HostKeyCheck {
  const townFile = townKnownHostsPath(options.townRoot);
  const userFile =
    options.userKnownHosts === undefined ? userKnownHostsPath() : options.userKnownHosts;
  const files = userFile === null || userFile === townFile ? [townFile] : [townFile, userFile];
  const { host, port } = options;
  const name = hostKeyName(host, port);
  const lookup = lookupHostKeys(files, host, port);
  const types = [...new Set(lookup.known.flatMap((k) => ALGORITHMS_FOR_KEY_TYPE[k.keyType] ?? []))];
  let refusal: GtError | undefined;
  let seen: ReturnType<HostKeyCheck['seen']>;

  const verify = (key: Buffer): boolean => {
    const keyType = keyTypeOf(key);
    seen = { fingerprint: fingerprint(key), keyType, recorded: false };
    const offered = describeKey({ keyType, key });
    if (lookup.revoked.some((k) => k.key.equals(key))) {
      refusal = new GtError(
        'GT_HOST_KEY_CHANGED',
        `the host key of ${name} is revoked: ${offered}`,
        {
          hint: `the key is marked @revoked in ${lookup.revoked.map((k) => k.file).join(', ')}; ask the host's admin for its new key`,
        },
      );
      return false;
    }
    const match = lookup.known.find((k) => k.key.equals(key));
    if (match !== undefined) {
      if (match.file !== townFile) recordHostKey(townFile, host, port, key);
      return true;
    }
    if (lookup.known.length > 0) {
      const old = lookup.known.filter((k) => k.keyType === keyType);
      const shown = old.length > 0 ? old : lookup.known;
      const where = [...new Set(shown.map((k) => k.file))];
      refusal = new GtError(
        'GT_HOST_KEY_CHANGED',
        `the host key of ${name} has changed: known ${shown.map(describeKey).join(', ')}; offered ${offered}. ` +
          'Someone may be intercepting the connection, or the host was reinstalled.',
        {
          hint:
            `confirm the new key with the host's admin (\`ssh-keygen -lf /etc/ssh/ssh_host_${keyType.replace(/^ssh-|-sha2-nistp\d+$/g, '')}_key.pub\` on it), ` +
            `then remove the old one: ${where.map((f) => `\`ssh-keygen -R '${name}' -f ${f}\``).join(' and ')}, and retry with --accept-host-key`,
          details: {
            host: name,
            known: shown.map((k) => fingerprint(k.key)),
            offered: fingerprint(key),
          },
        },
      );
      return false;
    }
    if (
      options.accept === true &&
      (options.acceptFingerprint === undefined || options.acceptFingerprint === fingerprint(key))
    ) {
      recordHostKey(townFile, host, port, key);
      seen.recorded = true;
      return true;
    }
    refusal = new GtError(
      'GT_HOST_KEY_UNKNOWN',
      `the host key of ${name} is not known yet: ${offered}`,
      {
        hint: "check that fingerprint with the host's admin (`ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on it), then retry with --accept-host-key",
        details: { host: name, offered: fingerprint(key) },
      },
    );
    return false;
  };

  return {
    verify,
    serverHostKey: types.length > 0 ? types : undefined,
    refusal: () => refusal,
    seen: () => seen,
  };
}
