// The Overseer's dashboard in a real headless Chromium (Debian's chromium, driven by
// playwright-core): a town with a sample rig (a test gate, as the demo's) under `gt up`, a swarm of
// scripted polecats watched live on the page (polecat appears, done, merge queue merged, swarm
// complete), nudge/kill from the page, errors shown as the CLI shows them, and the refusals of
// requests without the town's token or from another origin.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { GT, REPO_ROOT, gt, gtJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import {
  createIssue,
  makeSessionTown,
  tmuxSessions,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import { paneOf, setWitnessConfig } from './witness-helpers.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(REPO_ROOT, 'test', 'output');

/** The demo's sample project: a greeting and the rig's test gate. */
const SAMPLE = {
  'src/greet.js': 'export const greet = (name) => `hello, ${name}`;\n',
  'test.sh':
    "#!/bin/sh\n# The rig's test gate: the project must still greet.\ngrep -q hello src/greet.js\n",
};

let t: SessionTown;
let browser: Browser | undefined;
let url = '';
let skipReason = '';

async function launch(): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    skipReason = `${CHROMIUM} is missing (test/setup-host.sh installs Debian's chromium)`;
    return undefined;
  }
  const { chromium } = await import('playwright-core');
  try {
    // As root, Chromium's sandbox cannot start; the page is our own, on loopback.
    return await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  } catch (err) {
    skipReason = `chromium does not start here: ${String(err).split('\n')[0]}`;
    return undefined;
  }
}

function http(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string }> {
  const target = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = request(target, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const rowState = (page: Page, key: string, state: string) =>
  page.waitForFunction(
    ([k, s]) => document.querySelector(`[data-key="${k}"] .state`)?.textContent?.trim() === s,
    [key, state] as const,
    { timeout: 120_000 },
  );

beforeAll(async () => {
  t = await makeSessionTown('gt-dash-', SAMPLE);
  const rigConfig = join(t.town, t.rig, 'config.json');
  const config = JSON.parse(readFileSync(rigConfig, 'utf8')) as Record<string, unknown>;
  // The demo's gate, and work a `break` agent marks BROKEN is rejected.
  const gate = 'sh test.sh && ! grep -rqs BROKEN work';
  writeFileSync(rigConfig, JSON.stringify({ ...config, test_command: gate }, null, 2));
  // The Witness stays quiet (a done polecat keeps its session, for the nudge); the Refinery
  // loop runs often.
  setWitnessConfig(t, { patrol_interval_ms: 3_600_000, nudge_interval_ms: 3_600_000 });
  // An agent that stops at a login screen, as Claude Code does when logged out.
  const agents = join(t.town, 'config', 'agents.json');
  const settings = JSON.parse(readFileSync(agents, 'utf8')) as {
    presets: Record<string, unknown>;
  };
  settings.presets['needs-login'] = {
    command: ['/bin/sh', '-c', 'printf "> \\n  Not logged in · run /login\\n"; sleep 600'],
    ready_pattern: '^> $',
    ready_timeout_ms: 20_000,
    blocking_prompts: [{ name: 'login', pattern: 'Not logged in' }],
  };
  writeFileSync(agents, JSON.stringify(settings, null, 2));
  t.env = { ...t.env, GT_REFINERY_INTERVAL_MS: '300' };
  browser = await launch();
  if (browser === undefined) console.log(`dashboard browser tests skipped: ${skipReason}`);
});

afterAll(async () => {
  await browser?.close();
  await gt(['down'], { env: t.env });
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

describe('gt dashboard', () => {
  it('needs the daemon and says to start it with gt up', async () => {
    const r = await gt(['dashboard'], { env: t.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the dashboard is served by the town daemon, which is not running');
    expect(r.stderr).toContain('hint: start it with `gt up`');
    const up = await gt(['up'], { env: t.env });
    expect(up.code, up.stderr).toBe(0);
    const info = await gtJson<{ url: string; port: number; opened: boolean }>(
      ['dashboard', '--no-open'],
      { env: t.env },
    );
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32,}$/);
    expect(info.opened).toBe(false);
    url = info.url;
    const plain = await gt(['dashboard', '--no-open'], { env: t.env });
    expect(plain.stdout.trim()).toBe(url);
    const token = join(t.town, 'run', 'dashboard.token');
    expect((await import('node:fs')).statSync(token).mode & 0o777).toBe(0o600);
  });

  it('opens the URL in a browser only on a terminal, never with --no-open or when piped', async () => {
    const bin = tempDir('gt-browser-');
    const record = join(bin, 'opened.txt');
    // A stand-in desktop browser: records the URL it is asked to open.
    writeFileSync(join(bin, 'fakebrowser'), `#!/bin/sh\nprintf '%s\\n' "$1" >> '${record}'\n`, {
      mode: 0o755,
    });
    const env = { ...t.env, BROWSER: 'fakebrowser', PATH: `${bin}:${process.env.PATH ?? ''}` };
    const onTerminal = (args: string) =>
      // script(1) gives gt a terminal; the command line is ours (no user text in it).
      execFileSync(
        'script',
        ['-qec', `'${process.execPath}' '${GT}' dashboard ${args}`, '/dev/null'],
        {
          env: { ...process.env, ...env },
          encoding: 'utf8',
        },
      );
    expect((await gt(['dashboard'], { env })).stdout.trim()).toBe(url);
    expect(onTerminal('--no-open')).toContain(url);
    expect(onTerminal('')).toContain(url);
    await until('the browser to be opened', () => existsSync(record));
    expect(readFileSync(record, 'utf8')).toBe(`${url}\n`);
  });

  it('refuses requests without the token, with a wrong token, and from another origin', async () => {
    const base = url.replace(/\?.*$/, '');
    const token = new URL(url).searchParams.get('token') ?? '';
    const origin = new URL(url).origin;
    const refused = [
      await http(base),
      await http(`${base}?token=${'x'.repeat(token.length)}`),
      await http(`${base}events`),
      await http(`${base}events?token=wrong`),
      await http(
        `${base}gastown.v1.Coordinator/SendText`,
        { 'content-type': 'application/json' },
        'POST',
        '{}',
      ),
      await http(url, { origin: 'http://evil.example' }),
      await http(`${base}events?token=${token}`, { origin: 'http://127.0.0.1:1' }),
      await http(
        `${base}gastown.v1.Coordinator/KillSession`,
        {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          origin: 'http://evil.example',
        },
        'POST',
        '{"address":"alpha/Nux"}',
      ),
      // DNS rebinding: the right token, but the browser thinks it talks to another host.
      await http(url, { host: 'evil.example' }),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 403, 403, 403, 403]);
    for (const r of refused) expect(r.body).toMatch(/^(unauthorized|forbidden)\n$/);
    const ok = await http(url, { origin });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('<title>Gas Town</title>');
    // Only the dashboard's actions are served, not the whole service.
    const shutdown = await http(
      `${base}gastown.v1.Coordinator/Shutdown`,
      {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      'POST',
      '{}',
    );
    expect(shutdown.status).toBe(404);
    expect((await gt(['up', '--status'], { env: t.env })).code).toBe(0);
  });
});

describe('the port', () => {
  it('is the one in config/town.json; a taken one gives a free port and a warning', async () => {
    const town = join(tempDir('gt-dash-port-'), 'town');
    const env = { GT_TOWN: town };
    expect((await gt(['install', town], { env })).code).toBe(0);
    const file = join(town, 'config', 'town.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => holder.close(() => r())));
    const taken = (holder.address() as AddressInfo).port;
    // A port that was free a moment ago: the one the OS just gave and took back.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const free = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    for (const [port, expectWarning] of [
      [free, false],
      [taken, true],
    ] as const) {
      writeFileSync(file, JSON.stringify({ ...config, dashboard: { port } }, null, 2));
      const up = await gt(['up'], { env });
      expect(up.code, up.stderr).toBe(0);
      onTestFinished(async () => void (await gt(['down'], { env })));
      const { url } = await gtJson<{ url: string }>(['dashboard', '--no-open'], { env });
      const served = Number(new URL(url).port);
      expect(served === port).toBe(!expectWarning);
      const log = readFileSync(join(town, 'run', 'coordinator.log'), 'utf8');
      expect(log.includes('dashboard port in use')).toBe(expectWarning);
      expect((await gt(['down'], { env })).code).toBe(0);
    }
  });
});

describe('the page, live', () => {
  let page: Page;
  let polecat = '';
  let issue = '';
  let session = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (browser === undefined) return;
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  it('shows a swarm as it runs: the polecat, done, merged, the swarm complete', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    await page.goto(url);
    await page.waitForSelector('#conn[data-state="live"]');
    await page.waitForSelector('[data-key="machine:local"] .state');
    expect(await page.textContent('[data-key="machine:local"] .state')).toBe('connected');
    await page.waitForSelector('[data-key="rig:alpha"]');
    issue = await createIssue(t, 'Add a farewell helper');
    const swarm = await gtJson<{ id: string; issues: Array<{ polecat: string; issue: string }> }>(
      ['swarm', 'start', t.rig, '--issues', issue, '--agent', 'scripted'],
      { env: t.env },
    );
    polecat = swarm.issues[0]?.polecat ?? '';
    session = `gt-alpha-${polecat}`;
    const key = `polecat:alpha/${polecat}`;
    await page.waitForSelector(`[data-key="${key}"]`, { timeout: 60_000 });
    expect(await page.textContent(`[data-key="${key}"] .issue`)).toBe(issue);
    expect(await page.textContent(`[data-key="${key}"] .title`)).toBe('Add a farewell helper');
    await rowState(page, key, 'done');
    await rowState(page, `mq:alpha/${issue}`, 'merged');
    await page.waitForFunction(
      (k) => document.querySelector(`[data-key="${k}"] .state`)?.textContent === 'complete',
      `swarm:${swarm.id}`,
      { timeout: 120_000 },
    );
    expect(await page.textContent(`[data-key="swarm:${swarm.id}"] .progress`)).toBe('1/1 settled');
    // The activity log tells the story from the feed's events.
    const activity = (await page.textContent('#log')) ?? '';
    expect(activity).toContain(`alpha/${polecat}:`);
    expect(activity).toContain(`alpha merge queue ${issue}:`);
    expect(activity).toContain(`→ merged`);
    expect(activity).toContain(`swarm ${swarm.id} on alpha: active → complete`);
  });

  it('a polecat stopped at a login screen shows as stuck, waiting for input', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    const id = await createIssue(t, 'Needs a login');
    const r = await gt(['spawn', t.rig, '--issue', id, '--agent', 'needs-login', '--name', 'Ace'], {
      env: t.env,
    });
    expect(r.code).not.toBe(0);
    await rowState(page, 'polecat:alpha/Ace', 'stuck (waiting for input: login)');
    expect(await page.getAttribute('[data-key="polecat:alpha/Ace"] .state', 'data-s')).toBe(
      'waiting',
    );
    expect((await gt(['kill', 'alpha/Ace'], { env: t.env })).code).toBe(0);
  });

  it('retry puts a rejected merge-queue entry back in the queue', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    const id = await createIssue(t, 'Breaks the gate', 'agent-mode: break');
    expect(
      (await gt(['spawn', t.rig, '--issue', id, '--agent', 'scripted'], { env: t.env })).code,
    ).toBe(0);
    const key = `mq:alpha/${id}`;
    await rowState(page, key, 'rejected');
    await page.click(`[data-key="${key}"] button[data-act="retry"]`);
    const journal = join(t.town, t.rig, 'refinery', 'journal.jsonl');
    await until('the retry in the journal', () =>
      readFileSync(journal, 'utf8')
        .split('\n')
        .filter(Boolean)
        .some((l) => {
          const e = JSON.parse(l) as { entry: string; from: string; to: string };
          return e.entry === id && e.from === 'rejected' && e.to === 'queued';
        }),
    );
    expect(await page.isHidden('#error')).toBe(true);
  });

  it('cancel asks first, then cancels the swarm', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    const id = await createIssue(t, 'Never finishes');
    const swarm = await gtJson<{ id: string }>(
      ['swarm', 'start', t.rig, '--issues', id, '--agent', 'scripted-hang'],
      { env: t.env },
    );
    const key = `swarm:${swarm.id}`;
    const button = `[data-key="${key}"] button[data-act="cancel-swarm"]`;
    await page.waitForSelector(button);
    page.once('dialog', (d) => void d.dismiss());
    await page.click(button);
    const still = await gtJson<{ swarms: Array<{ state: string }> }>(
      ['swarm', 'status', swarm.id],
      { env: t.env },
    );
    expect(still.swarms[0]?.state).toBe('active');
    page.once('dialog', (d) => void d.accept());
    await page.click(button);
    await page.waitForFunction(
      (k) => document.querySelector(`[data-key="${k}"] .state`)?.textContent === 'cancelled',
      key,
    );
    expect(await page.isHidden('#error')).toBe(true);
  });

  it("nudge types the text into the polecat's pane; the preview shows it", async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    await page.click(`[data-key="polecat:alpha/${polecat}"]`);
    await page.waitForSelector(`#detail[data-address="alpha/${polecat}"]:not([hidden])`);
    const text = 'status check from the dashboard 4711';
    await page.fill('#detail input[name="text"]', text);
    await page.click('#detail button[data-act="nudge"]');
    await until('the nudge in the pane', () => paneOf(t, session).includes(text));
    await page.waitForFunction(
      (s) => document.querySelector('#detail .pane')?.textContent?.includes(s) === true,
      text,
    );
    expect(await page.isHidden('#error')).toBe(true);
  });

  it('sleep and wake mark the polecat as gt sleep / gt wake do', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    const cell = `[data-key="polecat:alpha/${polecat}"] .active`;
    await page.click('#detail button[data-act="sleep"]');
    await page.waitForFunction((c) => document.querySelector(c)?.textContent === 'asleep', cell);
    const asleep = await gtJson<{
      polecats: Array<{ status: { name: string }; active?: boolean }>;
    }>(['polecats', t.rig], { env: t.env });
    expect(asleep.polecats.find((p) => p.status.name === polecat)?.active ?? false).toBe(false);
    await page.click('#detail button[data-act="wake"]');
    await page.waitForFunction((c) => document.querySelector(c)?.textContent === 'awake', cell);
  });

  it('kill asks first; an error is shown as the CLI shows it', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    page.once('dialog', (d) => void d.dismiss());
    await page.click('#detail button[data-act="kill"]');
    expect(tmuxSessions(t)).toContain(session);
    page.once('dialog', (d) => void d.accept());
    await page.click('#detail button[data-act="kill"]');
    await until('the session to end', () => !tmuxSessions(t).includes(session));
    // Typing into a session that is gone fails the same way for the page and for gt inject.
    const cli = await gt(['inject', `alpha/${polecat}`, 'hello'], { env: t.env });
    expect(cli.code).toBe(1);
    await page.fill('#detail input[name="text"]', 'hello');
    await page.click('#detail button[data-act="nudge"]');
    await page.waitForSelector('#error:not([hidden])');
    expect((await page.textContent('#error'))?.trim()).toBe(cli.stderr.trim());
  });

  it('reconnects by itself when the daemon restarts; mail shows up and is marked read', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    expect((await gt(['down'], { env: t.env })).code).toBe(0);
    await page.waitForSelector('#conn[data-state="reconnecting"]');
    const up = await gt(['up'], { env: t.env });
    expect(up.code, up.stderr).toBe(0);
    // The same port and token as before: the open page needs nothing from its user.
    expect((await gtJson<{ url: string }>(['dashboard', '--no-open'], { env: t.env })).url).toBe(
      url,
    );
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 60_000 });
    const sent = await gtJson<{ id: string }>(
      ['send', 'overseer', '-s', 'Escalation drill', '-m', 'read me on the dashboard'],
      { env: t.env },
    );
    const row = `[data-key="mail:overseer/${sent.id}"]`;
    await page.waitForSelector(row);
    expect(await page.textContent(row)).toContain('Escalation drill');
    await page.click(`${row} button[data-act="read"]`);
    await page.waitForSelector(row, { state: 'detached' });
    const unread = await gtJson<{ messages: unknown[] }>(
      ['inbox', '--as', 'overseer', '--unread'],
      { env: t.env },
    );
    expect(unread.messages).toEqual([]);
    expect(pageErrors).toEqual([]);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });
    expect(existsSync(join(OUTPUT, 'dashboard.png'))).toBe(true);
  });
});
