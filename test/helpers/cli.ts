import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const GT = join(REPO_ROOT, 'dist', 'cli', 'gt.js');
export const BD = join(REPO_ROOT, 'dist', 'cli', 'bd.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

/** Run a built binary (node <script> ...args) as a user would; never throws on a non-zero exit. */
export function runNode(
  script: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [script, ...args],
      {
        cwd: options.cwd,
        env: { ...process.env, NO_COLOR: '1', ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export const gt = (args: string[], options?: RunOptions): Promise<RunResult> =>
  runNode(GT, args, options);
export const bd = (args: string[], options?: RunOptions): Promise<RunResult> =>
  runNode(BD, args, options);

/** Run gt and parse its --json stdout; fails the test with stderr when it exits non-zero. */
export async function gtJson<T = unknown>(args: string[], options?: RunOptions): Promise<T> {
  const r = await gt([...args, '--json'], options);
  if (r.code !== 0)
    throw new Error(
      `gt ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`,
    );
  return JSON.parse(r.stdout) as T;
}
