// bd inside a node agent: RunBeads for a caller on another machine runs bd's command here, in
// this process, instead of starting a bd process per call (Node.js start-up and module loading
// were most of a relayed bd's time). Output and context are the call's own (cli/bd/io.ts), so
// calls at once do not mix. Commands that read standard input still get a process of their own.
import { inScope } from './bd/io.js';
import { runCommand } from './bd/run.js';

export interface BdRun {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number;
}

export async function runBd(o: {
  args: string[];
  beadsDir: string;
  actor: string;
  cwd: string;
}): Promise<BdRun> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const exitCode = await inScope(
    {
      stdout: (t) => out.push(typeof t === 'string' ? Buffer.from(t) : Buffer.from(t)),
      stderr: (t) => err.push(Buffer.from(t)),
    },
    () =>
      runCommand(['node', 'bd', ...o.args], {
        cwd: o.cwd,
        beadsDirEnv: o.beadsDir,
        actor: o.actor,
        debug: o.args.includes('--debug'),
      }),
  );
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode };
}
