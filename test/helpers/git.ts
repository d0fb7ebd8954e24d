import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** Run git with argv (never a shell string); returns trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export interface BareRepoOptions {
  /** Files to commit, path → content. Default: a README and a small source file. */
  files?: Record<string, string>;
  /** Number of extra commits after the first. */
  extraCommits?: number;
  branch?: string;
}

/**
 * Create `<dir>/origin.git` (bare, default branch main) with real commits pushed to it, via a
 * scratch working clone at `<dir>/seed`. Returns the bare repo's path.
 */
export function makeBareRepo(dir: string, options: BareRepoOptions = {}): string {
  const branch = options.branch ?? 'main';
  const bare = join(dir, 'origin.git');
  const work = join(dir, 'seed');
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '--bare', '-q', '-b', branch, bare);
  git(dir, 'init', '-q', '-b', branch, work);
  const files = options.files ?? { 'README.md': '# sample\n', 'src/main.txt': 'hello\n' };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), content);
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'initial commit');
  for (let i = 0; i < (options.extraCommits ?? 0); i++) {
    writeFileSync(join(work, `change-${i}.txt`), `change ${i}\n`);
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', `change ${i}`);
  }
  git(work, 'remote', 'add', 'origin', bare);
  git(work, 'push', '-q', 'origin', branch);
  return bare;
}
