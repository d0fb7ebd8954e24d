// Merge queue throughput (issue 5): entries merged per minute by `gt refinery process` on a
// 2,000-file repo with a trivial test command (`true`), and the overhead per entry beyond the git
// operations themselves. Floor: the same git commands the refinery runs for an entry, run raw
// (execFileSync, no gt) against a byte-identical copy of the repo, plus the minimal sequence
// (fetch, checkout -B, merge, push) a hand-rolled merge bot would need.
//
// Entries are real: a branch per entry (one new file each, so no conflicts) pushed to the rig's
// origin, a beads issue per entry (closed on merge), and a queue record of the shape `gt done`
// writes. Polecats are not spawned (tmux start-up is not what is measured here). The same entries
// are merged a second time on a fresh copy with `merge_batch` (disjoint entries tested together).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { BD, GT, git, printTable, runOnce, sized, writeResult } from './lib.mjs';

const FILES = sized(2_000, 20);
const ENTRIES = Number(process.env.GT_BENCH_MQ_ENTRIES ?? sized(30, 2));
const BATCH = Number(process.env.GT_BENCH_MQ_BATCH ?? sized(10, 2));

function seedRepo(base) {
  const bare = join(base, 'origin.git');
  const seed = join(base, 'seed');
  git(base, 'init', '-q', '--bare', '-b', 'main', bare);
  git(base, 'init', '-q', '-b', 'main', seed);
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(seed, `dir${d}`), { recursive: true });
    for (let f = 0; f < FILES / 20; f++)
      writeFileSync(join(seed, `dir${d}`, `file${f}.txt`), `dir ${d} file ${f}\n`.repeat(8));
  }
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'initial 2000 files');
  git(seed, 'remote', 'add', 'origin', bare);
  git(seed, 'push', '-q', 'origin', 'main');
  return { bare, seed };
}

/** One branch per entry off main, each adding its own file, pushed to origin. */
function pushBranches(seed, n) {
  const heads = [];
  for (let i = 0; i < n; i++) {
    git(seed, 'checkout', '-q', '-B', `polecat/p${i}/work`, 'main');
    writeFileSync(join(seed, `work-${i}.txt`), `work ${i}\n`);
    git(seed, 'add', '-A');
    git(seed, 'commit', '-q', '-m', `work ${i}`);
    heads.push(git(seed, 'rev-parse', 'HEAD').trim());
  }
  git(seed, 'push', '-q', 'origin', '--all');
  git(seed, 'checkout', '-q', 'main');
  return heads;
}

function queueEntries(town, heads) {
  const env = { ...process.env, BEADS_DIR: join(town, 'alpha', '.beads'), BD_ACTOR: 'bench' };
  const dir = join(town, 'alpha', 'refinery', 'queue');
  mkdirSync(dir, { recursive: true });
  heads.forEach((head, i) => {
    const out = execFileSync(process.execPath, [BD, 'create', `work ${i}`, '--json'], {
      env,
      encoding: 'utf8',
    });
    const issue = JSON.parse(out).id;
    const branch = `polecat/p${i}/work`;
    const record = {
      version: 1,
      rig: 'alpha',
      issue,
      polecat: `p${i}`,
      address: `alpha/p${i}`,
      branch,
      head,
      epoch: 1,
      remote_ref: `origin/${branch}`,
      submitted_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    };
    writeFileSync(join(dir, `${issue}.json`), JSON.stringify(record));
  });
}

/** The refinery's git sequence for one entry, run raw (what gt does, minus gt). */
function rawSameCommands(clone, head) {
  const restore = () => {
    git(clone, 'checkout', '--quiet', '--force', '-B', 'main', 'origin/main');
    git(clone, 'reset', '--quiet', '--hard', 'origin/main');
    git(clone, 'clean', '-fdxq');
  };
  git(clone, 'fetch', '--quiet', '--prune', 'origin');
  restore();
  git(clone, 'merge', '--no-ff', '--no-edit', '-m', 'merge', head);
  git(clone, 'rev-parse', 'HEAD');
  execFileSync('sh', ['-c', 'true']);
  git(clone, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  restore();
}

function rawMinimal(clone, head) {
  git(clone, 'fetch', '--quiet', 'origin');
  git(clone, 'checkout', '--quiet', '--force', '-B', 'main', 'origin/main');
  git(clone, 'merge', '--no-ff', '--no-edit', '-m', 'merge', head);
  execFileSync('sh', ['-c', 'true']);
  git(clone, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
}

function timeRaw(base, bare, heads, fn, name) {
  const copy = join(base, `${name}.git`);
  git(base, 'clone', '-q', '--bare', bare, copy);
  const clone = join(base, name);
  git(base, 'clone', '-q', copy, clone);
  const t0 = performance.now();
  for (const head of heads) fn(clone, head);
  return performance.now() - t0;
}

/** A town with rig alpha on `origin`, the entries queued; time one `gt refinery process`. */
function timeGt(base, name, origin, heads, rigConfig) {
  const town = join(base, name);
  runOnce([process.execPath, GT, 'install', town]);
  runOnce([process.execPath, GT, '--town', town, 'rig', 'add', 'alpha', origin]);
  const cfgFile = join(town, 'alpha', 'config.json');
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
  writeFileSync(cfgFile, JSON.stringify({ ...cfg, test_command: 'true', ...rigConfig }, null, 2));
  queueEntries(town, heads);
  const t0 = performance.now();
  const out = execFileSync(
    process.execPath,
    [GT, '--town', town, 'refinery', 'process', 'alpha', '--json'],
    { encoding: 'utf8' },
  );
  const ms = performance.now() - t0;
  const merged = JSON.parse(out)[0].processed.filter((p) => p.state === 'merged').length;
  if (merged !== heads.length)
    throw new Error(`${name}: only ${merged}/${heads.length} merged: ${out}`);
  return ms;
}

const base = mkdtempSync(join(tmpdir(), 'gt-bench-mq-'));
try {
  const { bare, seed } = seedRepo(base);
  const heads = pushBranches(seed, ENTRIES);
  const pristine = join(base, 'pristine.git');
  git(base, 'clone', '-q', '--bare', bare, pristine); // same objects and refs, before any merge
  const gtMs = timeGt(base, 'town', bare, heads, {});
  // The same entries again on a fresh copy, with the rig testing disjoint entries together.
  const batchOrigin = join(base, 'batch-origin.git');
  git(base, 'clone', '-q', '--bare', pristine, batchOrigin);
  const batchMs = timeGt(base, 'town-batch', batchOrigin, heads, { merge_batch: BATCH });

  const sameMs = timeRaw(base, pristine, heads, rawSameCommands, 'raw-same');
  const minMs = timeRaw(base, pristine, heads, rawMinimal, 'raw-min');
  const per = (ms) => (ms / ENTRIES).toFixed(1);
  const perMin = (ms) => ((ENTRIES / ms) * 60_000).toFixed(0);
  const rows = [
    {
      run: 'gt refinery process (1 invocation)',
      entries: ENTRIES,
      total_ms: gtMs.toFixed(0),
      ms_per_entry: per(gtMs),
      entries_per_min: perMin(gtMs),
    },
    {
      run: `gt refinery process, merge_batch ${BATCH}`,
      entries: ENTRIES,
      total_ms: batchMs.toFixed(0),
      ms_per_entry: per(batchMs),
      entries_per_min: perMin(batchMs),
    },
    {
      run: 'raw: same git commands',
      entries: ENTRIES,
      total_ms: sameMs.toFixed(0),
      ms_per_entry: per(sameMs),
      entries_per_min: perMin(sameMs),
    },
    {
      run: 'raw: minimal (fetch/checkout/merge/push)',
      entries: ENTRIES,
      total_ms: minMs.toFixed(0),
      ms_per_entry: per(minMs),
      entries_per_min: perMin(minMs),
    },
  ];
  printTable(rows);
  const overhead = (gtMs - sameMs) / ENTRIES;
  console.log(
    `overhead per entry beyond the same git commands: ${overhead.toFixed(1)} ms (gt start-up included once)`,
  );
  const file = writeResult('mq', {
    files: FILES,
    entries: ENTRIES,
    test_command: 'true',
    merge_batch: BATCH,
    rows,
    overhead_ms_per_entry_vs_same_git: Number(overhead.toFixed(1)),
    overhead_ms_per_entry_vs_minimal_git: Number(((gtMs - minMs) / ENTRIES).toFixed(1)),
  });
  console.log(`wrote ${file}`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
