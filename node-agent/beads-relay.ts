/**
 * RunBeads: one bd command against a rig's beads database on this machine, for a caller anywhere
 * in the fleet (`bd --rig NAME …`, bd in a session on another machine). bd's own command code
 * runs here with the rig's .beads as its directory, so its output and exit code are exactly those
 * of bd run on this machine: inside this process when this installation has bd's in-process
 * entry (cli/bd-run.ts: no Node.js start-up per call), else — and for commands that read standard
 * input — as a bd process. The request carries bd's arguments only, never a path of the caller's.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

type BdRunModule = {
  runBd: (o: { args: string[]; beadsDir: string; actor: string; cwd: string }) => Promise<BeadsRun>;
};
let bdRun: Promise<BdRunModule | undefined> | undefined;

/** bd's in-process entry of this installation, loaded once; undefined when there is none. */
function loadBdRun(): Promise<BdRunModule | undefined> {
  bdRun ??= (async () => {
    try {
      return (await import(pathToFileURL(findCliScript('bd-run')).href)) as BdRunModule;
    } catch {
      return undefined;
    }
  })();
  return bdRun;
}

export async function runBeads(options: RunBeadsOptions): Promise<BeadsRun> {
  const rigDir = join(options.townRoot, options.rig);
  const inProcess = options.args.includes('-') ? undefined : await loadBdRun();
  if (inProcess !== undefined)
    return inProcess.runBd({
      args: options.args,
      beadsDir: join(rigDir, '.beads'),
      actor: options.actor || process.env.BD_ACTOR || process.env.USER || 'unknown',
      cwd: rigDir,
    });
  return spawnBeads(options, rigDir);
}

function spawnBeads(options: RunBeadsOptions, rigDir: string): Promise<BeadsRun> {
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
