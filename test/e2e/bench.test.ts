// Every benchmark runs: `node bench/run.mjs --quick` runs each one with tiny sizes, exits 0,
// prints each one's figures, and leaves the recorded results in bench/results untouched.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode } from '../helpers/cli.js';

const BENCH = join(REPO_ROOT, 'bench');
const NUMBER = String.raw`\d+(?:\.\d+)?`;

/** What each benchmark prints when it has measured something. */
const FIGURES: Record<string, RegExp> = {
  'dashboard.mjs': new RegExp(`first paint median ${NUMBER} ms`),
  'beads.mjs': new RegExp(`whole-process ready / node -e 0 = ${NUMBER}x`),
  'fleet-faults.mjs': new RegExp(
    `pause -> disconnected ${NUMBER} ms[^]*outbox drain ${NUMBER} msg/s vs live ${NUMBER} msg/s[^]*docker pause(: skipped, no Docker engine| -> disconnected ${NUMBER} ms[^]*unpause -> connected ${NUMBER} ms)`,
  ),
  'fleet-mail.mjs': new RegExp(
    `cross-machine mail ${NUMBER} msg/s vs raw unary floor ${NUMBER} calls/s = ${NUMBER}x; one message p50 ${NUMBER} ms vs one call ${NUMBER} ms\nbd ready relayed ${NUMBER} ms vs on the home ${NUMBER} ms`,
  ),
  'fleet-spawn.mjs': new RegExp(
    `spawn on another machine ${NUMBER} ms vs on the home ${NUMBER} ms; beyond the clone \\+-?${NUMBER} ms`,
  ),
  'fleet-scale.mjs': new RegExp(
    `"status_coord_cpu_ms": ${NUMBER}[^]*"coord_cpu_us_per_heartbeat": ${NUMBER}`,
  ),
  'fleet-status.mjs': new RegExp(`2 remote machines / local only = ${NUMBER}x \\(embedded\\)`),
  'gcp-add.mjs': new RegExp(`gt machine add, whole command\\s+${NUMBER}`),
  'gt-startup.mjs': new RegExp(`gt --version\\s+${NUMBER}\\s+${NUMBER}`),
  'machines.mjs': new RegExp(
    `provision bare host: ours/floor = ${NUMBER}x[^]*re-provision up to date: ${NUMBER} ms whole process[^]*unary call through the tunnel: ours/raw ssh2 = ${NUMBER}x`,
  ),
  'mq.mjs': new RegExp(`overhead per entry beyond the same git commands: -?${NUMBER} ms`),
  'spawn.mjs': new RegExp(`wall_ms.*\\n${NUMBER}\\s+${NUMBER}`),
  'witness-patrol.mjs': new RegExp(`"total_cpu_ms_median": ${NUMBER}`),
};

function results(): Record<string, string> {
  const dir = join(BENCH, 'results');
  return Object.fromEntries(
    readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')] as const),
  );
}

describe('benchmarks', () => {
  it('bench/run.mjs --quick runs every benchmark to the end and prints its figures', async () => {
    const benches = readdirSync(BENCH)
      .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && f !== 'lib.mjs')
      .sort();
    expect(benches).toEqual(Object.keys(FIGURES).sort());
    const before = results();
    const r = await runNode(join(BENCH, 'run.mjs'), ['--quick'], { timeoutMs: 840_000 });
    expect(r.stderr, r.stderr).not.toMatch(/Error/);
    expect(r.code, r.stdout.slice(-3000)).toBe(0);
    const sections = r.stdout.split(/^## /m).slice(1);
    expect(sections.map((s) => s.split('\n')[0])).toEqual(benches);
    for (const section of sections) {
      const name = section.split('\n')[0]!;
      expect(section, name).toMatch(FIGURES[name]!);
      expect(section, name).not.toMatch(/NaN|undefined/);
    }
    expect(results()).toEqual(before);
  }, 900_000); // every benchmark's set-up (towns, repos, tmux, test hosts) on a shared 2-core machine
});
