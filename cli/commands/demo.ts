/**
 * gt demo [path] [--agent P] [--issues N]: the main job on the embedded local default. Creates a
 * town (in a temp dir unless a path is given), a sample project with a test gate, a handful of
 * issues, and runs a real swarm: polecats in tmux (by default the bundled scripted demo agent, a
 * stand-in for an AI agent; `--agent claude` runs Claude Code where installed), the Witness
 * cleaning up finished workers and the Refinery merging each branch onto main. Ends with a summary.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GtError, packageRoot, writeJsonAtomic } from '../../proto/index.js';
import { color, out } from '../output.js';
import { openEmbedded, type CoordinatorSession } from '../session.js';
import { optionsOf } from './context.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Gas Town Demo',
  GIT_AUTHOR_EMAIL: 'demo@gastown.invalid',
  GIT_COMMITTER_NAME: 'Gas Town Demo',
  GIT_COMMITTER_EMAIL: 'demo@gastown.invalid',
};
const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small bare repository with a test script, standing in for the user's project. */
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
    "#!/bin/sh\n# The rig's test gate: the project must still greet.\ngrep -q hello src/greet.js\n",
    { mode: 0o755 },
  );
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'sample project');
  git(work, 'push', '-q', bare, 'main');
  return bare;
}

function bd(beadsDir: string, args: string[]): string {
  return execFileSync(process.execPath, [join(packageRoot(), 'dist', 'cli', 'bd.js'), ...args], {
    env: { ...process.env, BEADS_DIR: beadsDir, BD_ACTOR: 'overseer' },
    encoding: 'utf8',
  });
}

/** The bundled demo agent as a custom preset (the product sees only a command and a ready pattern). */
function writeDemoPreset(townRoot: string): Promise<void> {
  return writeJsonAtomic(join(townRoot, 'config', 'agents.json'), {
    presets: {
      demo: {
        command: [process.execPath, join(packageRoot(), 'cli', 'demo-agent', 'scripted-agent.mjs')],
        ready_pattern: '^> $',
        ready_timeout_ms: 20_000,
      },
    },
  });
}

async function setUp(
  base: string,
  issues: number,
  session: CoordinatorSession,
  townRoot: string,
): Promise<{ beadsDir: string; repo: string }> {
  const repo = makeSampleProject(base);
  const town = await session.client.installTown({ root: townRoot, name: 'demo', force: false });
  out(`installed town "${town.name}" at ${town.root}`);
  const rig = await session.client.addRig({
    name: 'sample',
    gitUrl: repo,
    prefix: 'sam',
    machine: '',
  });
  const configPath = join(rig.path, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  await writeJsonAtomic(configPath, { ...config, test_command: 'sh test.sh' });
  out(`added rig "${rig.name}" from ${rig.gitUrl} (test gate: sh test.sh)`);
  await writeDemoPreset(townRoot);
  const beadsDir = join(rig.path, '.beads');
  const titles = [
    'Add a farewell helper',
    'Document the greeting',
    'Add a changelog',
    'Add a license note',
    'Add a contributing guide',
  ];
  for (let i = 0; i < issues; i++)
    bd(beadsDir, [
      'create',
      titles[i % titles.length] ?? `Task ${i + 1}`,
      '-d',
      'Demo task: make the change, commit, push your branch, run gt done.',
      '-p',
      '2',
      '--silent',
    ]);
  out(`filed ${issues} issues in the rig's beads`);
  return { beadsDir, repo };
}

export async function demo(...args: unknown[]): Promise<void> {
  const given = args[0] as string | undefined;
  const opts = optionsOf(args);
  const agent = (opts.agent as string | undefined) ?? 'demo';
  const issues = Number((opts.issues as string | undefined) ?? '3');
  if (!Number.isInteger(issues) || issues < 1 || issues > 5)
    throw new GtError('GT_USAGE', `--issues must be 1..5, got ${String(opts.issues)}`, {
      hint: 'e.g. --issues 3',
    });
  const base = given === undefined ? mkdtempSync(join(tmpdir(), 'gastown-demo-')) : resolve(given);
  mkdirSync(base, { recursive: true });
  const townRoot = join(base, 'town');
  const session = await openEmbedded(townRoot);
  try {
    const { beadsDir, repo } = await setUp(base, issues, session, townRoot);
    if (agent === 'demo')
      out(
        color.dim(
          'agent: the bundled scripted demo agent (a stand-in for an AI agent; --agent claude for the real thing)',
        ),
      );
    const swarm = await session.client.startSwarm({
      rig: 'sample',
      issues: [],
      ready: issues,
      max: issues,
      agent,
    });
    out(
      `swarm ${swarm.id} dispatched ${swarm.issues.length} polecat(s): ${swarm.issues.map((i) => `${i.polecat} → ${i.issue}`).join(', ')}`,
    );
    const merged = await runUntilMerged(
      session,
      beadsDir,
      issues,
      agent === 'demo' ? 180_000 : 3_600_000,
    );
    await session.client.stopSessions({ rig: '', all: true }).catch(() => undefined);
    // The merge that settled the last issue recorded the swarm complete and mailed the Mayor.
    const finished = (await session.client.listSwarms({ rig: 'sample', id: swarm.id })).swarms[0];
    out('');
    out(color.bold('Summary'));
    out(`  issues closed (merged by the Refinery): ${merged} of ${issues}`);
    out(
      `  swarm ${swarm.id}: ${finished?.state ?? 'missing'}, ${finished?.settled ?? 0}/${swarm.issues.length} settled (the Mayor's mail: gt --town ${townRoot} inbox --as mayor)`,
    );
    out(
      `  main on origin:\n${git(repo, 'log', '--oneline', 'main')
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n')}`,
    );
    out(`  town kept at ${townRoot} (try: gt --town ${townRoot} status)`);
    if (merged < issues) process.exitCode = 1;
  } finally {
    await session.close();
  }
}

/** Patrol and merge until every issue is closed or the time runs out; prints progress. */
async function runUntilMerged(
  session: CoordinatorSession,
  beadsDir: string,
  issues: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    await session.client.witnessPatrol({ rig: 'sample' });
    const processed = await session.client.processMergeQueue({ rig: 'sample', once: false });
    for (const e of processed.processed) out(`  refinery: ${e.id} ${e.state}`);
    const closed = (JSON.parse(bd(beadsDir, ['list', '-s', 'closed', '--json'])) as unknown[])
      .length;
    if (closed !== last) out(`progress: ${closed}/${issues} merged`);
    last = closed;
    if (closed >= issues || Date.now() > deadline) return closed;
    await sleep(1_000);
  }
}
