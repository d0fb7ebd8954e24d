/**
 * The test gate: the rig's test command, run in the refinery's clone, bounded by the rig's
 * `test_timeout_ms` (default 30 min). A gate that runs over, or is cancelled (`gt down`), is
 * stopped with everything it started: `sh -c "npm test"` forks, and killing only the shell would
 * leave the tests running and holding our pipes, so the gate would wait for them anyway.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { GtError } from '../../proto/index.js';
import type { CloneRef } from './merge.js';

export const DEFAULT_TEST_TIMEOUT_MS = 30 * 60_000;
const OUTPUT_TAIL_CHARS = 4_000;
/** After SIGTERM, this long before SIGKILL. */
const KILL_GRACE_MS = 2_000;

export interface GateResult {
  passed: boolean;
  exitCode: number | null;
  /** Set when the gate ran over its time and was stopped. */
  timedOut: boolean;
  tail: string;
  durationMs: number;
}

/** Every process below `root` (Linux /proc; elsewhere none are found and only `root` is killed). */
function descendantsOf(root: number): number[] {
  if (!existsSync('/proc')) return [];
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift())
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child);
    }
  return out;
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids)
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
}

/** A tail that never holds more than the last `max` characters. */
function tailBuffer(max: number): { add(s: string): void; text(): string; cut(): boolean } {
  let text = '';
  let cut = false;
  return {
    add(s) {
      text += s;
      if (text.length > 2 * max) {
        text = text.slice(-max);
        cut = true;
      }
    },
    text: () => text,
    cut: () => cut,
  };
}

/**
 * Run the rig's test command in the clone. It goes through `sh -c` on purpose: the command is the
 * rig owner's own configuration (`test_command` in `<rig>/config.json`, e.g. "npm test && npm run
 * lint"), written by the same person who owns the repository — never text from a polecat, a mail
 * or any other untrusted source.
 */
export function runTestGate(
  ref: CloneRef,
  testCommand: string,
  timeoutMs = DEFAULT_TEST_TIMEOUT_MS,
): Promise<GateResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', testCommand], {
      cwd: ref.clone,
      env: { ...process.env, GT_REFINERY: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = tailBuffer(OUTPUT_TAIL_CHARS);
    const stderr = tailBuffer(OUTPUT_TAIL_CHARS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => stdout.add(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => stderr.add(d));
    let stopped: 'timeout' | 'cancelled' | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'cancelled'): void => {
      if (stopped !== undefined || child.pid === undefined) return;
      stopped = why;
      const tree = [...descendantsOf(child.pid), child.pid];
      signalAll(tree, 'SIGTERM');
      killTimer = setTimeout(() => {
        signalAll(tree, 'SIGKILL');
        // Something we could not see may still hold the pipes: stop waiting for them.
        child.stdout.destroy();
        child.stderr.destroy();
      }, KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = (): void => stop('cancelled');
    ref.signal?.addEventListener('abort', onAbort, { once: true });
    if (ref.signal?.aborted === true) onAbort();
    const finish = (): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      ref.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      finish();
      reject(new GtError('GT_INTERNAL', `cannot run the test command: ${err.message}`));
    });
    child.on('close', (code) => {
      finish();
      if (stopped === 'cancelled') {
        reject(new GtError('GT_CANCELLED', `test command was cancelled: ${testCommand}`));
        return;
      }
      const err = stderr.text();
      const all = `${stdout.text()}${err === '' ? '' : `\n${err}`}`.trim();
      const long = all.length > OUTPUT_TAIL_CHARS || stdout.cut() || stderr.cut();
      const tail = long ? `…${all.slice(-OUTPUT_TAIL_CHARS)}` : all;
      const why = stopped === 'timeout' ? `\n(test gate timed out after ${timeoutMs} ms)` : '';
      resolve({
        passed: stopped === undefined && code === 0,
        exitCode: stopped === undefined ? code : null,
        timedOut: stopped === 'timeout',
        tail: `${tail}${why}`,
        durationMs: Date.now() - started,
      });
    });
  });
}
