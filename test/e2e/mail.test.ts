// Mail through the gt CLI: send / inbox / mail read / reply / mark-read, addressing errors,
// stdin bodies, torn inbox lines — as a user (or an agent) runs them.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { TmuxServer } from '../../node-agent/index.js';
import { readEchoRecord } from '../integration/agents/echo.js';
import { REPO_ROOT, gt, gtJson } from '../helpers/cli.js';
import { makeBareRepo } from '../helpers/git.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';

let base: string;
let town: string;
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  GT_TOWN: town,
  GT_ADDRESS: '',
  ...extra,
});

interface Inbox {
  messages: Array<{
    id: string;
    from: string;
    to: string;
    subject: string;
    body: string;
    read: boolean;
    thread_id: string;
    reply_to: string;
    type: string;
    priority: string;
  }>;
  warnings: string[];
}

beforeAll(async () => {
  base = tempDirUnmanaged('gt-mail-');
  town = join(base, 'town');
  const repo = makeBareRepo(join(base, 'repo'));
  expect((await gt(['install', town])).code).toBe(0);
  expect((await gt(['rig', 'add', 'alpha', repo], { env: env() })).code).toBe(0);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('gt mail', () => {
  it('send → inbox → read → reply → mark-read, one JSONL line per message', async () => {
    const sent = await gtJson<{ id: string; to: string; state: string }>(
      [
        'send',
        'alpha/witness',
        '-s',
        'Hello',
        '-m',
        'first message',
        '--as',
        'mayor',
        '--priority',
        'high',
        '--type',
        'task',
      ],
      { env: env() },
    );
    expect(sent).toMatchObject({ to: 'alpha/witness', state: 'delivered' });
    const lines = readFileSync(join(town, 'alpha', 'witness', 'mail', 'inbox.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      id: sent.id,
      from: 'mayor',
      to: 'alpha/witness',
      subject: 'Hello',
      body: 'first message',
      read: false,
      priority: 'high',
      type: 'task',
    });

    const unread = await gtJson<Inbox>(['inbox', '--unread'], {
      env: env({ GT_ADDRESS: 'alpha/witness' }),
    });
    expect(unread.messages.map((m) => m.id)).toEqual([sent.id]);

    const read = await gt(['mail', 'read', sent.id.slice(0, 12)], {
      env: env({ GT_ADDRESS: 'alpha/witness' }),
    });
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain('first message');
    expect(
      (await gtJson<Inbox>(['inbox', '--unread', '--as', 'alpha/witness'], { env: env() }))
        .messages,
    ).toHaveLength(0);

    const replied = await gtJson<{ id: string; to: string }>(
      ['mail', 'reply', sent.id, '-m', 'got it', '--as', 'alpha/witness'],
      { env: env() },
    );
    expect(replied.to).toBe('mayor');
    const mayor = await gtJson<Inbox>(['inbox', '--as', 'mayor'], { env: env() });
    expect(mayor.messages).toHaveLength(1);
    expect(mayor.messages[0]).toMatchObject({
      subject: 'Re: Hello',
      body: 'got it',
      thread_id: sent.id,
      reply_to: sent.id,
      type: 'reply',
      from: 'alpha/witness',
    });

    const marked = await gtJson<{ marked: number }>(
      ['mail', 'mark-read', '--all', '--as', 'mayor'],
      { env: env() },
    );
    expect(marked.marked).toBe(1);
  });

  it('reads the body from stdin with -m -, and identity from the current directory', async () => {
    const body = 'line one\nline "two" with $(not a command) and `ticks`\n';
    const r = await gt(['send', 'mayor', '-s', 'stdin', '-m', '-'], {
      env: env(),
      input: body,
      cwd: join(town, 'alpha', 'refinery'),
    });
    expect(r.code, r.stderr).toBe(0);
    const inbox = await gtJson<Inbox>(['inbox'], { env: env(), cwd: join(town, 'mayor') });
    const m = inbox.messages.find((x) => x.subject === 'stdin');
    expect(m).toMatchObject({ body, from: 'alpha/refinery' });
  });

  it('an unknown agent is an error listing close matches; a malformed address is a usage error', async () => {
    const typo = await gt(['send', 'alpha/witnes', '-s', 'x', '-m', 'y'], { env: env() });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/no agent at address "alpha\/witnes"/);
    expect(typo.stderr).toMatch(/hint: did you mean: alpha\/witness/);
    const malformed = await gt(['send', 'alpha//x', '-s', 'x', '-m', 'y'], { env: env() });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/invalid address "alpha\/\/x": it has an empty part/);
    const noBody = await gt(['send', 'mayor', '-s', 'x'], { env: env() });
    expect(noBody.code).toBe(2);
    expect(noBody.stderr).toMatch(/hint: pass -m/);
  });

  it('a torn or garbage inbox line is skipped with a warning, never fatal', async () => {
    const inboxPath = join(town, 'alpha', 'refinery', 'mail', 'inbox.jsonl');
    await gtJson(['send', 'alpha/refinery', '-s', 'ok', '-m', 'fine'], { env: env() });
    appendFileSync(inboxPath, 'this is not json\n{"id":"torn","fro');
    const r = await gt(['inbox', '--as', 'alpha/refinery', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: inbox line \d+: /);
    expect((JSON.parse(r.stdout) as Inbox).messages.map((m) => m.subject)).toEqual(['ok']);
    // A later send still lands, and the good message survives.
    await gtJson(['send', 'alpha/refinery', '-s', 'after', '-m', 'still works'], { env: env() });
    const after = await gtJson<Inbox>(['inbox', '--as', 'alpha/refinery'], { env: env() });
    expect(after.messages.map((m) => m.subject)).toEqual(['ok', 'after']);
  });

  it('urgent mail to an agent with a live session also types a one-line notice into it', async () => {
    const tmux = TmuxServer.forTown(town);
    const record = join(base, 'witness-echo.jsonl');
    await tmux.newSession({
      name: 'gt-alpha-witness',
      cwd: join(town, 'alpha', 'witness'),
      command: [process.execPath, join(REPO_ROOT, 'test', 'agents', 'echo-agent.mjs'), record],
    });
    try {
      await tmux.waitForReady('gt-alpha-witness', /^> $/m, { timeoutMs: 15_000 });
      const normal = await gtJson<{ id: string }>(
        ['send', 'alpha/witness', '-s', 'routine', '-m', 'no notice'],
        { env: env() },
      );
      const urgent = await gtJson<{ id: string }>(
        [
          'send',
          'alpha/witness',
          '-s',
          'Build broken',
          '-m',
          'look now',
          '--priority',
          'urgent',
          '--as',
          'mayor',
        ],
        { env: env() },
      );
      const typed = await readEchoRecord(record, 1, 15_000);
      expect(typed).toHaveLength(1);
      const text = (typed[0] as { text: string }).text;
      expect(text).toContain('Build broken');
      expect(text).toContain('mayor');
      expect(text).toContain(urgent.id.slice(-10, -2));
      expect(text).not.toContain(normal.id.slice(-10, -2));
    } finally {
      await tmux.killServer();
    }
  });
});
