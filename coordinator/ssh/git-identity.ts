/**
 * The town's git identity (config/git/identity + config/git/known_hosts, see
 * node-agent/git-identity.ts) copied to a machine over its SSH connection: when the machine is
 * provisioned or upgraded, and to every machine when the identity is set or removed. The key goes
 * over the channel's stdin (never in argv, where `ps` shows it), is written 0600 in a 0700 dir
 * through a temp file and a rename, and the machine answers its sha256 so the copy is checked.
 * known_hosts is written before the key: the key's presence is what turns the identity on.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GtError } from '../../proto/index.js';
import type { SshConnection } from './connection.js';

export interface GitIdentityFiles {
  key: Buffer;
  knownHosts: Buffer;
}

/** The town's git identity as stored on this machine, or undefined when none is set. */
export function readGitIdentity(townRoot: string): GitIdentityFiles | undefined {
  const dir = join(townRoot, 'config', 'git');
  const key = join(dir, 'identity');
  if (!existsSync(key)) return undefined;
  const kh = join(dir, 'known_hosts');
  return { key: readFileSync(key), knownHosts: existsSync(kh) ? readFileSync(kh) : Buffer.of() };
}

// $1 = town path, $2 = set | remove, $3 = known_hosts text; stdin = the key (set).
export const GIT_IDENTITY_SCRIPT = `set -e
d="$1/config/git"
umask 077
if [ "$2" = remove ]; then rm -f "$d/identity" "$d/known_hosts"; exit 0; fi
mkdir -p "$d"
chmod 700 "$d"
printf '%s' "$3" > "$d/.known_hosts.tmp"
chmod 644 "$d/.known_hosts.tmp"
mv -f "$d/.known_hosts.tmp" "$d/known_hosts"
cat > "$d/.identity.tmp"
chmod 600 "$d/.identity.tmp"
mv -f "$d/.identity.tmp" "$d/identity"
if command -v sha256sum >/dev/null; then sha256sum "$d/identity"; else openssl dgst -sha256 -r "$d/identity"; fi`;

export type GitIdentitySync = 'copied' | 'removed';

/**
 * Put `files` on the machine under `townPath` (or remove the machine's copy when undefined).
 * Throws GT_PROVISION_FAILED naming the machine when the machine cannot write or the copy differs.
 */
export async function syncGitIdentity(
  conn: SshConnection,
  machine: string,
  townPath: string,
  files: GitIdentityFiles | undefined,
  timeoutMs = 30_000,
): Promise<GitIdentitySync> {
  const argv = ['sh', '-c', GIT_IDENTITY_SCRIPT, 'sh', townPath];
  const r =
    files === undefined
      ? await conn.exec([...argv, 'remove', ''], { timeoutMs })
      : await conn.exec([...argv, 'set', files.knownHosts.toString('utf8')], {
          stdin: files.key,
          timeoutMs,
        });
  const fail = (why: string): GtError =>
    new GtError(
      'GT_PROVISION_FAILED',
      `could not ${files === undefined ? 'remove' : 'copy'} the town's git identity on ${machine} (${townPath}/config/git): ${why}`,
      {
        hint: `check that ${townPath} on ${machine} is writable, then run \`gt machine provision ${machine}\``,
      },
    );
  if (r.code !== 0) throw fail(`exit ${String(r.code)}: ${r.stderr.trim()}`);
  if (files === undefined) return 'removed';
  const want = createHash('sha256').update(files.key).digest('hex');
  const got = /^([0-9a-f]{64})/.exec(r.stdout.toString().trim())?.[1];
  if (got !== want) throw fail('the copy on the machine differs from this one');
  return 'copied';
}
