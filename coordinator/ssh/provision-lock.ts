/**
 * The provisioning lock on a machine, so two provisioners cannot interleave: the directory
 * <town_path>/.gt/provision.lock, taken with mkdir and held by a process on the machine that
 * lives exactly as long as our exec channel (a shell reading it, its pid in the lock). Releasing
 * writes "release" to it: it removes the lock and exits. When our side dies instead (killed,
 * connection lost) the channel closes, the holder exits and the lock stays with a dead pid: a
 * later provisioner finds the holder gone, breaks the lock and says whose it was. A live holder
 * is waited for 10 s, then named; it is never broken.
 */
import type { ClientChannel } from 'ssh2';
import { GtError } from '../../proto/index.js';
import type { SshConnection } from './connection.js';

/**
 * Appended to a script that has set nothing it needs: $1 = town path, $3 = owner text. Prints
 * "stale <owner>" when it broke a lock, then "locked", and holds it. Exit 4: a live holder.
 */
export const LOCK_SCRIPT = `l="$1/.gt/provision.lock"
mkdir -p "$1/.gt" "$1/run" && chmod 700 "$1/run" || exit 3
take() { mkdir "$l" 2>/dev/null || return 1; printf '%s\\n' "$1" > "$l/owner"; echo $$ > "$l/pid"; }
i=0
while ! take "$3"; do
  p=$(cat "$l/pid" 2>/dev/null); o=$(cat "$l/owner" 2>/dev/null)
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null || { [ -z "$p" ] && [ -z "$(find "$l" -maxdepth 0 -mmin +2 2>/dev/null)" ]; }; then
    [ $i -ge 100 ] && { echo "busy $o\${p:+ (pid $p)}"; exit 4; }
    sleep 0.1; i=$((i+1)); continue
  fi
  echo "stale \${o:-unknown} (pid \${p:-unknown})"
  rm -rf "$l"
done
echo locked
read -r c; [ "$c" = release ] && rm -rf "$l"
exit 0`;

export interface ProvisionLock {
  /** Set when a stale lock (its holder gone) was broken to take this one: whose it was. */
  broke: string | undefined;
  release(): Promise<void>;
}

export interface LockedScript {
  /** What the script printed before it took the lock (or all of it, when it ended without). */
  output: string;
  /** Undefined when the script ended (exit 0) without taking the lock. */
  lock: ProvisionLock | undefined;
}

/**
 * Run `script` (which ends in LOCK_SCRIPT, or exits 0 before it) with `args`; resolve once it
 * holds the lock or has ended. Exit 3/4 and other failures throw GT_PROVISION_FAILED at "lock".
 * The timeout is well above the script's own wait for a live holder (100 rounds of 0.1 s, much
 * longer on a loaded machine), so that its answer naming the holder arrives first.
 */
export async function runLocked(
  conn: SshConnection,
  script: string,
  args: string[],
  where: { machine: string; townPath: string; verb: string },
  timeoutMs = 90_000,
): Promise<LockedScript> {
  const lockDir = `${where.townPath}/.gt/provision.lock`;
  const channel: ClientChannel = await conn.openExec(['sh', '-c', script, 'sh', ...args]);
  channel.on('error', () => undefined);
  let text = '';
  let stderr = '';
  channel.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
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
      // Output may still be arriving: wait for the channel to close.
      void closed.then(() => resolve({ locked: /^locked$/m.test(text), code }));
    });
  });
  const output = text.replace(/^locked\n[^]*$/m, '');
  if (!outcome.locked && outcome.code === 0) return { output, lock: undefined };
  if (!outcome.locked) {
    const busy = /^busy (.*)$/m.exec(text)?.[1];
    throw new GtError(
      'GT_PROVISION_FAILED',
      outcome.code === 4
        ? `${where.verb} ${where.machine} failed at "lock": another provisioning is running there (${busy ?? 'holder unknown'} holds ${lockDir})`
        : `${where.verb} ${where.machine} failed at "lock": ${stderr.trim() || `could not take ${lockDir} (exit ${String(outcome.code)})`}`,
      {
        hint:
          outcome.code === 4
            ? 'wait for it to finish and run the command again (a lock whose holder is gone is broken by itself)'
            : `check that the ssh user can write ${where.townPath} on ${where.machine}`,
        details: { step: 'lock' },
      },
    );
  }
  let released = false;
  return {
    output,
    lock: {
      broke: /^stale (.*)$/m.exec(text)?.[1],
      release: async () => {
        if (released) return;
        released = true;
        channel.end('release\n');
        await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000).unref())]);
      },
    },
  };
}
