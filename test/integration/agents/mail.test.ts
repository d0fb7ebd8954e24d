import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import {
  Mailbox,
  MailMessageSchema,
  newMailId,
  replyMessage,
  sessionNoticeText,
  wantsSessionNotice,
  shortMailId,
  type MailWarning,
} from '../../../node-agent/index.js';
import { GT_VERSION, GtError } from '../../../proto/index.js';
import { tempDir } from '../../helpers/tmp.js';

function mail(i: number, extra: Record<string, unknown> = {}) {
  return { from: 'wyvern/Nux', to: 'wyvern/witness', subject: `s${i}`, body: `b${i}`, ...extra };
}

/** The mail-writer fixture bundled into `dir`, and a runner for it. */
async function writerProcess(dir: string) {
  const script = join(dir, 'mail-writer.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'fixtures', 'mail-writer.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: script,
    logLevel: 'silent',
    // A bundle outside the package has no package.json to read: the version is compiled in.
    define: { __GT_VERSION__: JSON.stringify(GT_VERSION) },
  });
  return (args: string[], onSpawn?: (child: ChildProcess) => void) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [script, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      onSpawn?.(child);
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code, signal) =>
        code === 0
          ? resolve(out)
          : reject(new Error(`${args[0]} exited ${code ?? signal}: ${err}`)),
      );
    });
}

describe('Mailbox', () => {
  it('appends records readable with cat, with defaults and extra fields preserved', async () => {
    const home = tempDir();
    const box = new Mailbox({ home });
    const { message, delivered } = await box.append(
      mail(1, { priority: 'high', type: 'done', epoch: 3, custom_field: { a: 1 } }),
    );
    expect(delivered).toBe(true);
    const text = readFileSync(join(home, 'mail', 'inbox.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const record = JSON.parse(text.trim()) as Record<string, unknown>;
    expect(record).toMatchObject({
      id: message.id,
      from: 'wyvern/Nux',
      to: 'wyvern/witness',
      subject: 's1',
      body: 'b1',
      read: false,
      priority: 'high',
      type: 'done',
      epoch: 3,
      custom_field: { a: 1 },
    });
    expect(new Date(record.created_at as string).toISOString()).toBe(record.created_at);
    await box.markRead('all');
    const [after] = await box.list();
    expect(after).toMatchObject({ read: true, custom_field: { a: 1 }, epoch: 3 });
    expect(after?.read_at).toMatch(/Z$/);
  });

  it('defaults priority normal and type notice; rejects bad priority', async () => {
    const box = new Mailbox({ home: tempDir() });
    const { message } = await box.append(mail(1));
    expect(message.priority).toBe('normal');
    expect(message.type).toBe('notice');
    await expect(box.append(mail(2, { priority: 'mega' }))).rejects.toThrow(/priority/);
  });

  it('an empty or missing inbox lists nothing', async () => {
    const box = new Mailbox({ home: tempDir() });
    expect(await box.list()).toEqual([]);
    expect(await box.markRead('all')).toEqual([]);
  });

  it('de-duplicates by id: a retried send is delivered once', async () => {
    const box = new Mailbox({ home: tempDir() });
    const first = await box.append(mail(1, { id: 'fixed-id-1' }));
    const again = await box.append(mail(1, { id: 'fixed-id-1', body: 'changed' }));
    expect(first.delivered).toBe(true);
    expect(again.delivered).toBe(false);
    expect(again.message.body).toBe('b1');
    expect(await box.list()).toHaveLength(1);
  });

  it('ids are unique and sort by creation time', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newMailId(1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(shortMailId(ids[0] ?? '')).toHaveLength(8);
  });

  it('lists unread only, marks read by id, and get matches full id, prefixes, short id', async () => {
    const box = new Mailbox({ home: tempDir() });
    const a = (await box.append(mail(1))).message;
    const b = (await box.append(mail(2))).message;
    const c = (await box.append(mail(3, { id: 'abc-1' }))).message;
    await box.append(mail(4, { id: 'abc-2' }));
    expect(await box.markRead([b.id, 'no-such-id'])).toEqual([b.id]);
    expect(await box.markRead([b.id])).toEqual([]);
    expect((await box.list({ unread: true })).map((m) => m.subject)).toEqual(['s1', 's3', 's4']);
    expect((await box.get(a.id)).subject).toBe('s1');
    expect((await box.get(shortMailId(a.id).slice(0, 6))).subject).toBe('s1');
    expect((await box.get(c.id)).subject).toBe('s3');
    const ambiguous = await box.get('abc').catch((err: unknown) => err);
    expect(ambiguous).toBeInstanceOf(GtError);
    expect((ambiguous as GtError).code).toBe('GT_CONFLICT');
    expect((ambiguous as GtError).details?.candidates).toEqual(['abc-1', 'abc-2']);
    await expect(box.get('zzzz-none')).rejects.toMatchObject({ code: 'GT_NOT_FOUND' });
  });

  it('builds replies in the thread of the original', async () => {
    const box = new Mailbox({ home: tempDir() });
    const original = (await box.append(mail(1))).message;
    const reply = replyMessage(original, { from: 'wyvern/witness', body: 'ack' });
    expect(reply).toMatchObject({
      to: 'wyvern/Nux',
      subject: 'Re: s1',
      reply_to: original.id,
      thread_id: original.id,
      type: 'reply',
    });
    expect(replyMessage(reply, { from: 'x/y', body: 'again' }).subject).toBe('Re: s1');
    expect(MailMessageSchema.safeParse(reply).success).toBe(true);
  });

  it('makes a one-line session notice for high and urgent mail, and any mail to a plugin', async () => {
    const box = new Mailbox({ home: tempDir() });
    const { message } = await box.append(
      mail(1, {
        priority: 'urgent',
        type: 'escalation',
        subject: 'stuck\n\u001b[31mC-c\r' + 'x'.repeat(200),
      }),
    );
    expect(wantsSessionNotice(message)).toBe(true);
    expect(wantsSessionNotice((await box.append(mail(2))).message)).toBe(false);
    const toPlugin = (await box.append(mail(3, { to: 'wyvern/plugins/merge-oracle' }))).message;
    expect([toPlugin.priority, wantsSessionNotice(toPlugin)]).toEqual(['normal', true]);
    const notice = sessionNoticeText(message);
    expect(['\n', '\r', '\u001b'].some((c) => notice.includes(c))).toBe(false);
    expect(notice).toMatch(
      /^\[gt mail\] urgent escalation from wyvern\/Nux: stuck \[31mC-c x+… \(gt mail read [a-z0-9]{8}\)$/,
    );
  });

  it('skips torn and garbage lines with warnings and moves them to the corrupt sidecar', async () => {
    const home = tempDir();
    const warnings: MailWarning[] = [];
    const box = new Mailbox({ home, onWarning: (w) => warnings.push(w) });
    await box.append(mail(1));
    const inbox = join(home, 'mail', 'inbox.jsonl');
    appendFileSync(inbox, 'this is not json\n{"id":"x","from":"a"}\n{"id":"torn","fr');
    const scan = await box.scan();
    expect(scan.messages.map((m) => m.subject)).toEqual(['s1']);
    expect(scan.warnings.map((w) => [w.line, w.problem.split(':')[0]])).toEqual([
      [2, 'not JSON'],
      [3, 'not a mail record'],
      [4, 'torn last line'],
    ]);
    expect(warnings).toHaveLength(3);
    // An append after a torn last line starts on a fresh line.
    await box.append(mail(2));
    expect((await box.list()).map((m) => m.subject)).toEqual(['s1', 's2']);
    // A rewrite keeps the good records and moves the bad lines to the sidecar, byte for byte.
    await box.markRead('all');
    expect((await box.scan()).warnings).toEqual([]);
    expect(readFileSync(join(home, 'mail', 'inbox.corrupt.jsonl'), 'utf8')).toBe(
      'this is not json\n{"id":"x","from":"a"}\n{"id":"torn","fr\n',
    );
    expect((await box.list()).every((m) => m.read)).toBe(true);
  });

  it('20 writer processes x 50 messages with a concurrent mark-read loop: exactly 1000', async () => {
    const dir = tempDir();
    const home = join(dir, 'home');
    const run = await writerProcess(dir);
    const stopFile = join(dir, 'stop');
    const reader = run(['reader', home, stopFile]);
    const writers = Array.from({ length: 20 }, (_, w) => run(['writer', home, String(w), '50']));
    await Promise.all(writers);
    writeFileSync(stopFile, '');
    const readerStats = JSON.parse(await reader) as { rounds: number; marked: number };

    const box = new Mailbox({ home });
    const scan = await box.scan();
    expect(scan.warnings).toEqual([]);
    const ids = scan.messages.map((m) => m.id);
    expect(ids).toHaveLength(1000);
    expect(new Set(ids).size).toBe(1000);
    for (let w = 0; w < 20; w++) {
      const mine = ids.filter((id) => id.startsWith(`w${String(w).padStart(2, '0')}-`));
      expect(mine).toEqual([...mine].sort()); // each writer's messages arrive in its order
      expect(mine).toHaveLength(50);
    }
    expect(scan.messages.every((m) => m.read && m.read_at !== undefined)).toBe(true);
    expect(scan.messages.every((m) => m.body !== 'dup')).toBe(true);
    expect(readerStats.marked).toBe(1000); // each message marked read exactly once
    expect(readerStats.rounds).toBeGreaterThan(1);
    expect(existsSync(`${box.path}.lock`)).toBe(false);
  });
  it('a writer killed mid-run (even holding the lock) loses nothing of the others', async () => {
    const dir = tempDir();
    const home = join(dir, 'home');
    const run = await writerProcess(dir);
    let victim: ChildProcess | undefined;
    const killed = run(['writer', home, '0', '400'], (c) => (victim = c)).catch(() => 'killed');
    const others = [1, 2, 3, 4].map((w) => run(['writer', home, String(w), '60']));
    const inbox = join(home, 'mail', 'inbox.jsonl');
    while (!existsSync(inbox) || readFileSync(inbox, 'utf8').split('\n').length < 40)
      await new Promise((resolve) => setTimeout(resolve, 5));
    victim?.kill('SIGKILL');
    expect(await killed).toBe('killed');
    await Promise.all(others);
    const scan = await new Mailbox({ home }).scan();
    expect(scan.warnings).toEqual([]);
    const ids = scan.messages.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const w of [1, 2, 3, 4])
      expect(ids.filter((id) => id.startsWith(`w0${w}-`))).toHaveLength(60);
    const victims = ids.filter((id) => id.startsWith('w00-'));
    expect(victims.length).toBeLessThan(400);
    expect(victims).toEqual(victims.map((_, i) => `w00-${String(i).padStart(3, '0')}`));
    expect(existsSync(`${inbox}.lock`)).toBe(false);
  });
});
