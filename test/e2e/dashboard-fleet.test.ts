// The dashboard's fleet view with a real remote machine: a bare test host (Docker, sshd, no
// Node.js) added and provisioned with `gt machine add`, shown connected with its agent version on
// the page; `docker pause` (a hung machine) turns it away from connected on the open page, with the
// reason; `docker unpause` brings it back — the page is never reloaded.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, gt, gtJson } from '../helpers/cli.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';
import { docker, startTestHosts, type TestHosts } from '../hosts/containers.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const CHROMIUM = '/usr/bin/chromium';

let base = '';
let env: NodeJS.ProcessEnv = {};
let fleet: TestHosts | undefined;
let browser: Browser | undefined;
let skipReason = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    skipReason = `${CHROMIUM} is missing (test/setup-host.sh installs Debian's chromium)`;
    return;
  }
  base = tempDirUnmanaged('gt-dashf-');
  const town = join(base, 'town');
  mkdirSync(join(base, 'home'), { recursive: true });
  // An empty HOME: the user's own ~/.ssh is never read or written by the test.
  env = { GT_TOWN: town, HOME: join(base, 'home'), SSH_AUTH_SOCK: '' };
  expect((await gt(['install', town], { env })).code).toBe(0);
  const [hosts, launched] = await Promise.all([
    startTestHosts(['d1'], join(town, 'run', 'test-keys')),
    import('playwright-core').then(({ chromium }) =>
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ),
  ]);
  fleet = hosts;
  browser = launched;
});

afterAll(async () => {
  await browser?.close();
  if (base !== '') {
    await gt(['down'], { env });
    const { rmSync } = await import('node:fs');
    rmSync(base, { recursive: true, force: true });
  }
  await fleet?.stop();
});

const machineState = (page: Page, name: string, state: string) =>
  page.waitForFunction(
    ([key, want]) => document.querySelector(`[data-key="${key}"] .state`)?.textContent === want,
    [`machine:${name}`, state] as const,
    { timeout: 120_000 },
  );

describe('the fleet on the dashboard', () => {
  it('shows a provisioned machine; a paused host leaves connected, and comes back', async (ctx) => {
    if (browser === undefined || fleet === undefined) return ctx.skip(skipReason);
    const host = fleet.hosts[0]!;
    const add = await gt(
      [
        'machine',
        'add',
        'd1',
        '--ssh',
        `root@${host.host}:${host.port}`,
        '--identity',
        fleet.clientKey,
        '--accept-host-key',
      ],
      { env, timeoutMs: 300_000 },
    );
    expect(add.code, add.stderr).toBe(0);
    const up = await gt(['up'], { env });
    expect(up.code, up.stderr).toBe(0);
    const { url } = await gtJson<{ url: string }>(['dashboard', '--no-open'], { env });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    await page.waitForSelector('#conn[data-state="live"]');
    await machineState(page, 'd1', 'connected');
    const row = '[data-key="machine:d1"]';
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(await page.textContent(`${row} .version`)).toBe(version);

    await docker(['pause', host.container.getId()]);
    try {
      await page.waitForFunction(
        (key) => {
          const s = document.querySelector(`[data-key="${key}"] .state`)?.textContent;
          return s !== undefined && s !== null && s !== 'connected' && s !== 'connecting';
        },
        'machine:d1',
        { timeout: 120_000 },
      );
      expect(await page.textContent(`${row} .state`)).toBe('unreachable');
      expect(await page.textContent('[data-key="machine:local"] .state')).toBe('connected');
    } finally {
      await docker(['unpause', host.container.getId()]);
    }
    await machineState(page, 'd1', 'connected');
  });
});
