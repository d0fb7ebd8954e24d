// The Overseer's dashboard, in headless Chromium (Debian's chromium via playwright-core), for a
// town with 3 rigs and 20 polecats (each a clone, a state.json and a live tmux session running
// `sleep`: a silent agent) under `gt up`:
//   first paint   request → first contentful paint, which shows the tables (all 20 polecat rows),
//                 median over fresh tabs (goal < 300 ms); the first page after the daemon
//                 starts is reported apart;
//   event → page  a change made through the coordinator (wake/sleep a polecat) until the page
//                 shows it, median (goal p50 < 200 ms);
//   idle CPU      the daemon's CPU (its process and the children it ran) per second with the
//                 page open and nothing happening, against the same daemon with no page open
//                 (goal ~0).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { GT, git, median, sized, writeResult } from './lib.mjs';

const CHROMIUM = '/usr/bin/chromium';
const RIGS = ['alpha', 'beta', 'gamma'];
const POLECATS = Number(process.env.POLECATS ?? sized(20, 3));
const PAINTS = Number(process.env.RUNS ?? sized(15, 2));
const EVENTS = sized(30, 3);
const IDLE_MS = sized(20_000, 1_000);
const WINDOWS = sized(3, 1);

if (!existsSync(CHROMIUM)) {
  console.log(`skipped: ${CHROMIUM} is missing (test/setup-host.sh installs chromium)`);
  process.exit(0);
}
const base = mkdtempSync(join(tmpdir(), 'gt-bench-dash-'));
const town = join(base, 'town');
const env = { ...process.env, GT_TOWN: town };
const gt = (...args) => execFileSync(process.execPath, [GT, ...args], { env, encoding: 'utf8' });
const sock = join(town, 'run', 'tmux.sock');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cpuMsOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime + stime + cutime + cstime (the git and tmux it ran count too), 100 Hz ticks
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / 100;
}

function post(url, method, body) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(`/gastown.v1.Coordinator/${method}`, u.origin),
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${u.searchParams.get('token')}`,
          'content-type': 'application/json',
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(text)),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function makeTown() {
  gt('install', town, '--name', 'bench');
  for (const rig of RIGS) {
    const repo = join(base, `${rig}-repo`);
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    for (let i = 0; i < 50; i++) writeFileSync(join(repo, `f${i}.txt`), `${i}\n`);
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'init');
    gt('rig', 'add', rig, repo, '--prefix', rig.slice(0, 2));
    const cfg = join(town, rig, 'config.json');
    const config = JSON.parse(readFileSync(cfg, 'utf8'));
    writeFileSync(
      cfg,
      JSON.stringify({
        ...config,
        witness: { nudge_interval_ms: 3_600_000, patrol_interval_ms: 3_600_000 },
      }),
    );
  }
  const now = new Date().toISOString();
  for (let i = 0; i < POLECATS; i++) {
    const rig = RIGS[i % RIGS.length];
    const name = `P${i}`;
    const home = join(town, rig, 'polecats', name);
    execFileSync('git', ['clone', '-q', '--local', join(town, rig, 'refinery', 'rig'), home]);
    const session = `gt-${rig}-${name}`;
    writeFileSync(
      join(home, 'state.json'),
      JSON.stringify({
        version: 1,
        role: 'polecat',
        state: 'working',
        issue: `${rig.slice(0, 2)}-${i}`,
        session,
        epoch: i + 1,
        updated_at: now,
        last_activity: now,
      }),
    );
    execFileSync('tmux', ['-S', sock, 'new-session', '-d', '-s', session, 'sleep 3600']);
  }
}

/**
 * Request → tables on screen, in ms, on the browser's own clock: from the navigation's
 * requestStart to its first contentful paint. The page renders every table synchronously from
 * the snapshot inlined in it, before its first frame, so that paint shows them (checked: all 20
 * polecat rows and every rig are in the DOM). Also the whole load as Node sees it (new tab and
 * playwright's round trips included).
 */
async function firstPaint(browser, url) {
  const page = await browser.newPage();
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  const shown = await page.waitForFunction(
    ([p, r]) => {
      const d = globalThis.document;
      const fcp = globalThis.performance.getEntriesByName('first-contentful-paint')[0];
      return (
        fcp !== undefined &&
        d.querySelectorAll('#polecats tbody tr').length === p &&
        d.querySelectorAll('#rigs .rig').length === r && {
          paint: fcp.startTime,
          request: globalThis.performance.getEntriesByType('navigation')[0].requestStart,
        }
      );
    },
    [POLECATS, RIGS.length],
  );
  const wall = performance.now() - t0;
  const { paint, request: start } = await shown.jsonValue();
  await page.close();
  return { ms: paint - start, wall };
}

/** A change made through the coordinator until the page shows it (ms, wall clock). */
async function eventLatency(page, url, i) {
  const address = 'alpha/P0';
  const active = i % 2 === 1;
  const want = active ? 'awake' : 'asleep';
  const t0 = Date.now();
  await post(url, 'SetAgentActive', { address, active });
  const seenAt = await page.waitForFunction(
    ([key, w]) =>
      globalThis.document.querySelector(`[data-key="${key}"] .active`)?.textContent === w &&
      Date.now(),
    [`polecat:${address}`, want],
    { polling: 'raf', timeout: 10_000 },
  );
  return (await seenAt.jsonValue()) - t0;
}

async function idleCpu(pid, ms) {
  const c0 = cpuMsOf(pid);
  const t0 = Date.now();
  await sleep(ms);
  return ((cpuMsOf(pid) - c0) * 1000) / (Date.now() - t0); // CPU ms per second
}

let browser;
try {
  const { chromium } = await import('playwright-core');
  makeTown();
  gt('up');
  const { url, pid } = JSON.parse(gt('dashboard', '--no-open', '--json'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const cold = await firstPaint(browser, url);
  const loads = [];
  for (let i = 0; i < PAINTS; i++) loads.push(await firstPaint(browser, url));
  const paints = loads.map((l) => l.ms);
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForSelector('#conn[data-state="live"]');
  const latencies = [];
  for (let i = 0; i < EVENTS; i++) latencies.push(await eventLatency(page, url, i));
  await page.close();
  // Idle windows without and with a page open, alternated (the machine may be shared: its load
  // moves the daemon's own figure too).
  const noPages = [];
  const withPages = [];
  for (let i = 0; i < WINDOWS; i++) {
    noPages.push(await idleCpu(pid, IDLE_MS));
    const open = await browser.newPage();
    await open.goto(url);
    await open.waitForSelector('#conn[data-state="live"]');
    await sleep(1_000);
    withPages.push(await idleCpu(pid, IDLE_MS));
    await open.close();
    await sleep(500);
  }
  const noPage = median(noPages);
  const withPage = median(withPages);
  const result = {
    rigs: RIGS.length,
    polecats: POLECATS,
    first_paint_ms_median: median(paints),
    first_paint_ms_max: Math.max(...paints),
    first_paint_wall_ms_median: median(loads.map((l) => l.wall)),
    first_paint_after_start_ms: cold.ms,
    event_to_page_ms_median: median(latencies),
    event_to_page_ms_max: Math.max(...latencies),
    idle_cpu_ms_per_s_page_open: withPage,
    idle_cpu_ms_per_s_no_page: noPage,
    idle_window_ms: IDLE_MS,
    idle_windows: WINDOWS,
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`first paint median ${result.first_paint_ms_median.toFixed(1)} ms (goal < 300)`);
  console.log(`event to page median ${result.event_to_page_ms_median.toFixed(1)} ms (goal < 200)`);
  console.log(
    `daemon idle CPU ${withPage.toFixed(2)} ms/s with the page open, ${noPage.toFixed(2)} ms/s without`,
  );
  console.log(`written: ${writeResult('dashboard', result)}`);
} finally {
  await browser?.close();
  spawnSync(process.execPath, [GT, 'down'], { env });
  spawnSync('tmux', ['-S', sock, 'kill-server']);
  rmSync(base, { recursive: true, force: true });
}
