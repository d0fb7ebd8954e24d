/**
 * gt demo [path]: the main job on the embedded local default. Creates a town (in a temp dir unless
 * a path is given), a sample project repository, adds it as a rig and shows the town's status.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { out } from '../output.js';
import { openEmbedded } from '../session.js';
import { optionsOf } from './context.js';
import { renderStatus } from './town.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Gas Town Demo',
  GIT_AUTHOR_EMAIL: 'demo@gastown.invalid',
  GIT_COMMITTER_NAME: 'Gas Town Demo',
  GIT_COMMITTER_EMAIL: 'demo@gastown.invalid',
};

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, { cwd, env: GIT_ENV, stdio: 'ignore' });
}

/** A small bare repository with a couple of commits, standing in for the user's project. */
function makeSampleProject(dir: string): string {
  const bare = join(dir, 'sample-project.git');
  const work = join(dir, 'sample-project-seed');
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
  git(dir, 'init', '-q', '-b', 'main', work);
  mkdirSync(join(work, 'src'));
  writeFileSync(
    join(work, 'README.md'),
    '# Sample project\n\nA small project for the Gas Town demo.\n',
  );
  writeFileSync(
    join(work, 'src', 'greet.js'),
    'export const greet = (name) => `hello, ${name}`;\n',
  );
  writeFileSync(
    join(work, 'test.sh'),
    "#!/bin/sh\nnode -e \"import('./src/greet.js').then(m => process.exit(m.greet('x') === 'hello, x' ? 0 : 1))\"\n",
    { mode: 0o755 },
  );
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'sample project');
  git(work, 'remote', 'add', 'origin', bare);
  git(work, 'push', '-q', 'origin', 'main');
  return bare;
}

export async function demo(...args: unknown[]): Promise<void> {
  const given = args[0] as string | undefined;
  const opts = optionsOf(args);
  const base = given === undefined ? mkdtempSync(join(tmpdir(), 'gastown-demo-')) : resolve(given);
  mkdirSync(base, { recursive: true });
  const townRoot = join(base, 'town');
  const repo = makeSampleProject(base);
  const session = await openEmbedded(townRoot);
  try {
    const town = await session.client.installTown({ root: townRoot, name: 'demo', force: false });
    out(`installed town "${town.name}" at ${town.root}`);
    const rig = await session.client.addRig({
      name: 'sample',
      gitUrl: repo,
      prefix: 'sam',
      machine: '',
    });
    out(`added rig "${rig.name}" from ${rig.gitUrl}`);
    out('');
    out(renderStatus(await session.client.getStatus({}), session.mode));
    out('');
    out(`try: gt --town ${townRoot} doctor`);
    if (opts.verbose === true) out(`(the sample project's origin is ${repo})`);
  } finally {
    await session.close();
  }
}
