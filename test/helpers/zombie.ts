/**
 * A real zombie process: `sh` starts a node child in the background and execs `sleep`, which
 * never waits for it, so the child stays a zombie once it exits. When `listenOn` is given the
 * child first listens on that unix socket and exits without closing it, leaving the socket file
 * behind as a crashed daemon does.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Zombie {
  pid: number;
  /** End the parent; init then reaps the zombie. */
  release(): void;
}

function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export async function makeZombie(listenOn?: string): Promise<Zombie> {
  const script =
    listenOn === undefined
      ? 'process.exit(0)'
      : `require('net').createServer().listen(${JSON.stringify(listenOn)}, () => process.exit(0))`;
  const parent = spawn(
    '/bin/sh',
    ['-c', '"$0" -e "$1" & echo $!; exec sleep 600', process.execPath, script],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const release = (): void => void parent.kill('SIGKILL');
  for (let i = 0; i < 400; i++) {
    const pid = Number.parseInt(out.trim(), 10);
    if (Number.isInteger(pid) && stateOf(pid) === 'Z') return { pid, release };
    await new Promise((r) => setTimeout(r, 25));
  }
  release();
  throw new Error(`no zombie appeared (child pid output: "${out.trim()}")`);
}
