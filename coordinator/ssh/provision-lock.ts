/**
 * The provisioning lock on a machine, so two provisioners cannot interleave: the directory
 * <town_path>/.gt/provision.lock, taken with mkdir and held by a process on the machine that
 * lives exactly as long as our exec channel (`cat` reading it, its pid in the lock). Releasing
 * removes the lock, then ends the channel. When our side dies (killed, connection lost) the
 * channel closes and the holder exits, so a later provisioner finds the lock's holder gone: such
 * a lock is stale, is broken, and the caller is told whose it was. A live holder is never broken.
 */
import type { ClientChannel } from 'ssh2';
import { GtError } from '../../proto/index.js';
import type { SshConnection } from './connection.js';

// $1 = town path, $2 = owner text. Prints "stale <owner>" when it broke a lock, then "locked",
// and stays (as `cat`, same pid) until the channel ends. Exit 4 = held by a live holder.
const TAKE = `l="$1/.gt/provision.lock"
mkdir -p "$1/.gt" "$1/run" && chmod 700 "$1/run" || exit 3
take() { mkdir "$l" 2>/dev/null || return 1; printf '%s\\n' "$1" > "$l/owner"; echo $$ > "$l/pid"; }
if ! take "$2"; then
  p=$(cat "$l/pid" 2>/dev/null); o=$(cat "$l/owner" 2>/dev/null)
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo "busy $o (pid $p)"; exit 4; fi
  if [ -z "$p" ] && [ -z "$(find "$l" -maxdepth 0 -mmin +2 2>/dev/null)" ]; then echo "busy $o"; exit 4; fi
  echo "stale \${o:-unknown} (pid \${p:-unknown})"
  rm -rf "$l"; take "$2" || { echo "busy"; exit 4; }
fi
echo locked
exec cat >/dev/null`;

export interface ProvisionLock {
  /** Set when a stale lock (its holder gone) was broken to take this one: whose it was. */
  broke: string | undefined;
  release(): Promise<void>;
}

/** Take the lock on the machine or throw GT_PROVISION_FAILED naming the holder. */
export async function takeProvisionLock(
  conn: SshConnection,
  townPath: string,
  owner: string,
  machine: string,
  timeoutMs = 30_000,
): Promise<ProvisionLock> {
  const lockDir = `${townPath}/.gt/provision.lock`;
  const channel: ClientChannel = await conn.openExec(['sh', '-c', TAKE, 'sh', townPath, owner]);
  channel.on('error', () => undefined);
  let text = '';
  let stderr = '';
  channel.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const outcome = await new Promise<{ locked: boolean; code: number | null }>((resolve) => {
    const timer = setTimeout(() => {
      channel.close();
      resolve({ locked: false, code: null });
    }, timeoutMs);
    const onData = (b: Buffer): void => {
      text += b.toString();
      if (/^locked$/m.test(text)) {
        clearTimeout(timer);
        channel.off('data', onData);
        channel.resume();
        resolve({ locked: true, code: null });
      }
    };
    channel.on('data', onData);
    channel.once('exit', (code: number | null) => {
      clearTimeout(timer);
      resolve({ locked: false, code });
    });
  });
  if (!outcome.locked) {
    const busy = /^busy (.*)$/m.exec(text)?.[1];
    throw new GtError(
      'GT_PROVISION_FAILED',
      outcome.code === 4
        ? `provisioning ${machine} failed at "lock": another provisioning is running there (${busy ?? 'holder unknown'} holds ${lockDir})`
        : `provisioning ${machine} failed at "lock": ${stderr.trim() || `could not take ${lockDir}`}`,
      {
        hint:
          outcome.code === 4
            ? 'wait for it to finish and run the command again (a lock whose holder is gone is broken by itself)'
            : `check that the ssh user can write ${townPath} on ${machine}`,
      },
    );
  }
  let released = false;
  return {
    broke: /^stale (.*)$/m.exec(text)?.[1],
    release: async () => {
      if (released) return;
      released = true;
      try {
        await conn.exec(['rm', '-rf', lockDir], { timeoutMs: 30_000 });
      } finally {
        channel.end();
      }
    },
  };
}
