/**
 * Benchmarks of the node agent's building blocks (issue 4): mailbox append / list / mark-read,
 * and typeText latency into the echo agent on a real tmux server.
 *
 *   npx esbuild bench/agents.ts --bundle --platform=node --format=esm --external:esbuild \
 *     --outfile=bench/.agents.tmp.mjs --log-level=warning && node bench/.agents.tmp.mjs
 *
 * Prints one JSON object of figures. Numbers, not assertions: machines are shared and noisy.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { Mailbox, TmuxServer } from '../node-agent/index.js';

const ECHO_AGENT = join(process.cwd(), 'test', 'agents', 'echo-agent.mjs');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const round = (n: number): number => Math.round(n * 100) / 100;

async function benchMail(dir: string): Promise<Record<string, number>> {
  const box = new Mailbox({ home: join(dir, 'mail-home') });
  const latencies: number[] = [];
  const n = 1000;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await box.append({
      from: 'rig/Nux',
      to: 'rig/witness',
      subject: `s${i}`,
      body: 'x'.repeat(200),
    });
    latencies.push(performance.now() - t);
  }
  const total = performance.now() - started;
  const listStart = performance.now();
  await box.list();
  const listMs = performance.now() - listStart;
  const markStart = performance.now();
  await box.markRead('all');
  const markMs = performance.now() - markStart;
  return {
    appendPerSec: round((n / total) * 1000),
    appendMedianMs: round(median(latencies)),
    appendLastMs: round(latencies.at(-1) ?? 0),
    list1000Ms: round(listMs),
    markReadAll1000Ms: round(markMs),
  };
}

/** Whole process: start node, load the mailbox, append one message, exit (like `gt send`). */
async function benchMailProcess(dir: string): Promise<Record<string, number>> {
  const script = join(dir, 'mail-writer.mjs');
  await build({
    entryPoints: [
      join(process.cwd(), 'test', 'integration', 'agents', 'fixtures', 'mail-writer.ts'),
    ],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: script,
    logLevel: 'silent',
  });
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    execFileSync(process.execPath, [script, 'writer', join(dir, 'proc-home'), String(i), '1']);
    times.push(performance.now() - t);
  }
  return { appendWholeProcessMedianMs: round(median(times)) };
}

async function benchTyping(dir: string): Promise<Record<string, number>> {
  const tmux = new TmuxServer({ socketPath: join(dir, 'tmux.sock') });
  try {
    const name = 'gt-bench-echo';
    const t0 = performance.now();
    await tmux.newSession({
      name,
      cwd: dir,
      command: [process.execPath, ECHO_AGENT, join(dir, 'rec')],
    });
    const newSessionMs = performance.now() - t0;
    await tmux.waitForReady(name, /^> $/m);
    const cases: Record<string, string> = {
      short: 'Issue: rig-12 please start',
      long8k: 'x'.repeat(8192),
      multiline2k: Array.from({ length: 40 }, (_, i) => `line ${i} ${'y'.repeat(40)}`).join('\n'),
    };
    const out: Record<string, number> = { newSessionColdMs: round(newSessionMs) };
    for (const [label, text] of Object.entries(cases)) {
      const times: number[] = [];
      for (let i = 0; i < 7; i++) times.push((await tmux.typeText(name, text)).elapsedMs);
      out[`typeText_${label}_medianMs`] = median(times);
    }
    const s = performance.now();
    for (let i = 0; i < 20; i++) await tmux.hasSession(name);
    out.hasSessionMs = round((performance.now() - s) / 20);
    return out;
  } finally {
    await tmux.killServer();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gt-bench-'));
try {
  const figures = {
    ...(await benchMail(dir)),
    ...(await benchMailProcess(dir)),
    ...(await benchTyping(dir)),
  };
  console.log(JSON.stringify(figures, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
