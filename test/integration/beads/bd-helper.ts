// Runs the REAL built `bd` (dist/cli/bd.js) as a user would, in temp dirs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
export const BD = join(REPO_ROOT, 'dist', 'cli', 'bd.js');

/** Fail clearly when the build is missing. */
export function requireBuild(): void {
  if (!existsSync(BD)) {
    throw new Error(`beads tests run the built bd: ${BD} is missing; run \`npm run build\` first`);
  }
}

export interface BdResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface BdRunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
}

function bdEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BD_ACTOR: 'tester',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
  };
  delete env.BEADS_DIR;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Run bd synchronously. */
export function bd(cwd: string, args: string[], options: BdRunOptions = {}): BdResult {
  requireBuild();
  const run = spawnSync(process.execPath, [BD, ...args], {
    cwd,
    env: bdEnv(options.env),
    input: options.input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

/** Run bd and parse its --json stdout; throws with stderr if it failed. */
export function bdJson<T = unknown>(cwd: string, args: string[], options: BdRunOptions = {}): T {
  const result = bd(cwd, [...args, '--json'], options);
  if (result.code !== 0) {
    throw new Error(`bd ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** Run bd as a child process without blocking (for concurrency tests). */
export function bdAsync(
  cwd: string,
  args: string[],
  options: BdRunOptions = {},
): Promise<BdResult> {
  requireBuild();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BD, ...args], { cwd, env: bdEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A temp project with `bd init --prefix <prefix>` done. Returns the project dir. */
export function initProject(dir: string, prefix = 'tb'): string {
  mkdirSync(dir, { recursive: true });
  const result = bd(dir, ['init', '--prefix', prefix]);
  if (result.code !== 0) throw new Error(`bd init failed: ${result.stderr}`);
  return dir;
}

/** The issues.jsonl records on disk. */
export function readJsonl(dir: string): Record<string, unknown>[] {
  const text = readFileSync(join(dir, '.beads', 'issues.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function jsonlById(dir: string): Map<string, Record<string, unknown>> {
  return new Map(readJsonl(dir).map((r) => [String(r.id), r]));
}
