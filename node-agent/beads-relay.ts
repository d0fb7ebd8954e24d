/**
 * RunBeads: one bd command against a rig's beads database on this machine, for a caller anywhere
 * in the fleet (`bd --rig NAME …`). bd runs here as its own process (this machine's Node.js and
 * bd script), with BEADS_DIR set to the rig's .beads, so its output and exit code are exactly
 * those of bd run on this machine. The request carries bd's arguments only, never a path of the
 * caller's.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { findCliScript } from './cli-scripts.js';

export interface RunBeadsOptions {
  townRoot: string;
  rig: string;
  args: string[];
  actor: string;
  stdin: Uint8Array;
  signal?: AbortSignal;
}

export interface BeadsRun {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number;
}

export function runBeads(options: RunBeadsOptions): Promise<BeadsRun> {
  const rigDir = join(options.townRoot, options.rig);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BEADS_DIR: join(rigDir, '.beads'),
    GT_TOWN: options.townRoot,
    GT_RIG: options.rig,
  };
  if (options.actor !== '') env.BD_ACTOR = options.actor;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [findCliScript('bd'), ...options.args], {
      cwd: rigDir,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => reject(e));
    child.once('close', (code) =>
      resolve({
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        exitCode: code ?? 1,
      }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(Buffer.from(options.stdin));
  });
}
