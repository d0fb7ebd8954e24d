// gt machine reassign through the CLI and the town daemon: the daemon takes heartbeat interval
// and lost_after from config/town.json (a machine that never answers is lost after 4 s, not
// 10 min); before that the command is refused with the state and the time until lost; without
// the daemon it names `gt up`; an unknown machine is a usage error naming the known ones;
// without a terminal it needs --yes; on a terminal it asks, and "n" changes nothing.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { GT, gt, gtJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A loopback port nobody listens on (the OS gave it and took it back). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** `gt machine reassign b` on a pseudo-terminal (script(1)), answering `answer`. */
async function onTerminal(env: Record<string, string>, answer: string) {
  const child = spawn(
    'script',
    ['-qfec', `${process.execPath} ${GT} machine reassign b`, '/dev/null'],
    {
      env: { ...process.env, ...env, TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  await until('the question', async () => out.includes('[y/N]'));
  child.stdin.write(`${answer}\r`);
  return { code: await exited, out };
}

describe('gt machine reassign', () => {
  it('lost_after from config/town.json; refusals; --yes; the question on a terminal', async () => {
    const town = join(tempDir('gt-reassign-'), 'town');
    const env = { GT_TOWN: town };
    expect((await gt(['install', town], { env })).code).toBe(0);
    const townFile = join(town, 'config', 'town.json');
    const config = JSON.parse(readFileSync(townFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      townFile,
      JSON.stringify({ ...config, fleet: { heartbeat_interval_ms: 200, lost_after_ms: 4_000 } }),
    );
    // Machine b: an ssh machine on a loopback port nobody answers (a machine that is gone).
    writeFileSync(
      join(town, 'config', 'federation.json'),
      JSON.stringify({
        version: 1,
        machines: {
          local: { type: 'local' },
          b: {
            type: 'ssh',
            host: '127.0.0.1',
            port: await closedPort(),
            user: 'gt',
            town_path: '/srv/town',
          },
        },
      }),
    );

    const unknown = await gt(['machine', 'reassign', 'nosuch', '--yes'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no machine named "nosuch" in config/federation.json');
    expect(unknown.stderr).toContain('known machines: local, b');

    const noDaemon = await gt(['machine', 'reassign', 'b', '--yes'], { env });
    expect(noDaemon.code).toBe(1);
    expect(noDaemon.stderr).toContain('only known while the town daemon watches its heartbeats');
    expect(noDaemon.stderr).toContain('hint: start it with `gt up`');

    const up = await gt(['up'], { env });
    expect(up.code, up.stderr).toBe(0);
    onTestFinished(async () => void (await gt(['down'], { env })));
    const started = Date.now();
    const early = await gt(['machine', 'reassign', 'b', '--yes'], { env });
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(
      /error: machine b (has not been heard from since the daemon started|is disconnected) \(.+\), not lost: it would be lost in \d+ s if it stays silent \(lost after 4 s\)/,
    );

    // The escalation comes once b is lost: after 4 s (config), not the default 10 min.
    await until('the lost escalation', async () => {
      const inbox = await gtJson<{ messages: Array<{ subject: string }> }>(
        ['inbox', '--as', 'mayor'],
        { env },
      );
      return inbox.messages.some((m) => m.subject.startsWith('machine b lost'));
    });
    expect(Date.now() - started).toBeLessThan(60_000);
    // gt machine list says lost (a failed call to it does not make it merely unreachable).
    const list = await gtJson<{ machines: Array<{ name: string; state: string; detail: string }> }>(
      ['machine', 'list'],
      { env },
    );
    expect(list.machines.find((m) => m.name === 'b')).toMatchObject({ state: 'lost' });
    expect(list.machines.find((m) => m.name === 'b')?.detail).toMatch(/^lost: no heartbeat for/);

    const script = await gt(['machine', 'reassign', 'b'], { env });
    expect(script.code).toBe(2);
    expect(script.stderr).toContain('hint: run it on a terminal to be asked, or add --yes');

    const no = await onTerminal(env, 'n');
    expect(no.code).toBe(0);
    expect(no.out).toContain('machine b is lost (silent since ');
    expect(no.out).toContain('nothing was held there');
    expect(no.out).toContain('nothing reassigned');
    const yes = await onTerminal(env, 'y');
    expect(yes.code).toBe(0);
    expect(yes.out).toContain('0 issue(s) back to ready');

    const json = await gtJson<{ machine: string; issues: unknown[] }>(
      ['machine', 'reassign', 'b', '--yes', '--json'],
      { env },
    );
    expect(json).toMatchObject({ machine: 'b', issues: [] });
    const inbox = await gtJson<{ messages: Array<{ subject: string }> }>(
      ['inbox', '--as', 'mayor'],
      { env },
    );
    // One escalation; one mail per reassign that was carried out ("n" sent none).
    expect(inbox.messages.map((m) => m.subject).filter((s) => s.startsWith('machine b'))).toEqual(
      expect.arrayContaining(['machine b reassigned: 0 issue(s) back to ready']),
    );
    expect(inbox.messages.filter((m) => m.subject.startsWith('machine b lost'))).toHaveLength(1);
    expect(inbox.messages.filter((m) => m.subject.startsWith('machine b reassigned'))).toHaveLength(
      2,
    );
  });
});
