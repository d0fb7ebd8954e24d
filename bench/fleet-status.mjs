// gt status with two remote machines (bare test-host containers, provisioned over ssh) against
// the same town with the local machine only, measured in the same run. Embedded mode dials each
// machine (ssh handshake, bridge, agent handshake) inside every command; with the town daemon
// (gt up) the connections are already open. Needs Docker and the test-host image (built on
// demand, as the test suite does). Target: embedded <= 3x local-only (the two machines are asked
// in parallel, so the cost is one machine's dial, not two).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { GT, ROOT, printTable, runOnce, sized, timeProcess, writeResult } from './lib.mjs';

const RUNS = sized(11, 1);

/** test/hosts/containers.ts, bundled for plain node (its packages resolved from node_modules). */
async function loadTestHosts() {
  const out = join(ROOT, 'dist', 'bench', 'test-hosts.mjs');
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['test/hosts/containers.ts'],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return import(out);
}

const base = mkdtempSync(join(tmpdir(), 'gt-bench-fleet-'));
const { startTestHosts } = await loadTestHosts();
let hosts;
let town;
try {
  town = join(base, 'town');
  mkdirSync(join(base, 'home'));
  runOnce([process.execPath, GT, 'install', town]);
  // An empty HOME: the user's own ~/.ssh is never read or written.
  const env = { ...process.env, GT_TOWN: town, HOME: join(base, 'home'), SSH_AUTH_SOCK: '' };
  const statusArgv = [process.execPath, GT, 'status', '--json'];
  const local = timeProcess(statusArgv, { runs: RUNS, env });

  hosts = await startTestHosts(['b1', 'b2'], join(base, 'keys'));
  for (const h of hosts.hosts)
    runOnce(
      [
        ...[process.execPath, GT, 'machine', 'add', h.name, '--ssh', `root@${h.host}:${h.port}`],
        ...['--identity', hosts.clientKey, '--accept-host-key', '--town-path', '/srv/gastown'],
      ],
      { env },
    );
  const remote = timeProcess(statusArgv, { runs: RUNS, env });
  runOnce([process.execPath, GT, 'up'], { env });
  let daemon;
  try {
    daemon = timeProcess(statusArgv, { runs: RUNS, env });
  } finally {
    runOnce([process.execPath, GT, 'down'], { env });
  }

  const row = (what, t, target = '') => ({
    'gt status --json': what,
    median_ms: t.median.toFixed(1),
    ratio: (t.median / local.median).toFixed(2),
    target,
  });
  const rows = [
    row('local machine only (floor)', local),
    row('+ 2 ssh machines, embedded (dials both)', remote, '<= 3.0'),
    row('+ 2 ssh machines, daemon (gt up)', daemon),
  ];
  printTable(rows);
  console.log(
    `2 remote machines / local only = ${(remote.median / local.median).toFixed(2)}x (embedded), ${(daemon.median / local.median).toFixed(2)}x (daemon)`,
  );
  console.log(
    writeResult('fleet-status', {
      runs: RUNS,
      local_only_ms: local.median,
      two_remote_embedded_ms: remote.median,
      two_remote_daemon_ms: daemon.median,
      ratio_embedded: remote.median / local.median,
      ratio_daemon: daemon.median / local.median,
      target_ratio_embedded: 3.0,
    }),
  );
} finally {
  // A daemon left by a failure above must not outlive the bench.
  if (town !== undefined)
    try {
      execFileSync(process.execPath, [GT, '--town', town, 'down'], { stdio: 'ignore' });
    } catch {
      /* not running */
    }
  await hosts?.stop();
  rmSync(base, { recursive: true, force: true });
}
