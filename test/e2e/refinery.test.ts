// The Refinery's merge queue end to end: real polecats (tmux, clones, `gt done`), real git on a
// bare origin, the built gt running `gt refinery process` / `gt mq ...` as a user would.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gt } from '../helpers/cli.js';
import { git } from '../helpers/git.js';
import {
  commitAndPush,
  done,
  issue,
  mqList,
  mqStatus,
  onOriginMain,
  originMain,
  processQueue,
  setRigConfig,
  setTestCommand,
  submit,
} from './refinery-helpers.js';
import { inboxOf, makeSessionTown, showIssue, type SessionTown } from './sessions-helpers.js';

let t: SessionTown;

beforeEach(async () => {
  t = await makeSessionTown('gt-mq-');
});

afterEach(async () => {
  await t.cleanup();
});

const polecatInbox = (name: string) => inboxOf(join(t.town, 'alpha', 'polecats', name));
const witnessInbox = () => inboxOf(join(t.town, 'alpha', 'witness'));

describe('refinery merge queue', () => {
  it('a clean merge lands on origin main, closes the issue and mails polecat + witness', async () => {
    const id = await issue(t, 'Add the greeting');
    const s = await submit(t, id, { 'src/greeting.txt': 'hello\n' });
    expect((await mqList(t)).entries).toMatchObject([
      { id, state: 'queued', files: ['src/greeting.txt'] },
    ]);

    const before = originMain(t);
    const processed = await processQueue(t);
    expect(processed).toMatchObject([{ id, state: 'merged', resumed: false }]);
    const merged = processed[0]?.commit ?? '';
    expect(originMain(t)).toBe(merged);
    expect(git(t.repo, 'rev-parse', `${merged}^1`)).toBe(before);
    expect(onOriginMain(t, 'src/greeting.txt')).toBe('hello');

    const closed = (await showIssue(t, id)) as { status: string; close_reason?: string };
    expect(closed.status).toBe('closed');
    expect(closed.close_reason).toContain(merged);
    expect(polecatInbox(s.polecat).filter((m) => m.subject === `Merged: ${id}`)).toHaveLength(1);
    expect(
      witnessInbox().filter((m) => String(m.subject).startsWith(`Merged: ${id}`)),
    ).toHaveLength(1);
    expect(await mqStatus(t, id)).toMatchObject({
      state: 'merged',
      merged_commit: merged,
      attempts: 1,
    });
    // Nothing left: a second pass is a no-op.
    expect(await processQueue(t)).toEqual([]);
    const text = await gt(['mq', 'status', id], { env: t.env });
    expect(text.stdout).toMatch(/state\s+merged/);
  });

  it('a failing test gate rejects: main untouched, the polecat gets the output tail and the issue back', async () => {
    setTestCommand(t, 'if [ -e bad.txt ]; then echo "FAIL: bad.txt must not exist"; exit 1; fi');
    const id = await issue(t, 'Break the build');
    const s = await submit(t, id, { 'bad.txt': 'oops\n' });
    const before = originMain(t);
    expect(await processQueue(t)).toMatchObject([{ id, state: 'rejected' }]);
    expect(originMain(t)).toBe(before);
    expect(onOriginMain(t, 'bad.txt')).toBeUndefined();
    const mail = polecatInbox(s.polecat).find((m) => String(m.subject).startsWith('Rejected:'));
    expect(mail).toMatchObject({ type: 'task', from: 'alpha/refinery', issue: id });
    expect(String(mail?.body)).toContain('FAIL: bad.txt must not exist');
    expect(await showIssue(t, id)).toMatchObject({ status: 'in_progress', assignee: s.address });
    expect(await mqStatus(t, id)).toMatchObject({ state: 'rejected' });
    // The refinery clone is clean and back on origin's main.
    const clone = join(t.town, 'alpha', 'refinery', 'rig');
    expect(git(clone, 'status', '--porcelain')).toBe('');
    expect(git(clone, 'rev-parse', 'HEAD')).toBe(before);
  });

  it("a gate that runs over the rig's test_timeout_ms is stopped with what it started, and rejected", async () => {
    const marker = join(t.base, 'inner-finished');
    // The shell stays the parent (more follows the sleep), and starts a process of its own.
    // (Its output is computed, so the mail's copy of the command cannot be mistaken for it.)
    const command = `echo gate-$((1+1)); sh -c 'sleep 2; touch ${marker}'; echo gate-$((2+2))`;
    setTestCommand(t, command);
    setRigConfig(t, { test_timeout_ms: 500 });
    const id = await issue(t, 'Slow tests');
    const s = await submit(t, id, { 'slow.txt': 'slow\n' });
    const before = originMain(t);
    const why = `test gate timed out after 500 ms: ${command}`;
    expect(await processQueue(t)).toMatchObject([{ id, state: 'rejected', detail: why }]);
    expect(originMain(t)).toBe(before);
    expect(await mqStatus(t, id)).toMatchObject({ state: 'rejected', last_error: why });
    const mail = polecatInbox(s.polecat).find((m) => String(m.subject).startsWith('Rejected:'));
    expect(String(mail?.body)).toContain(`ran the rig's test command: ${why}.`);
    expect(String(mail?.body)).toContain('Output (tail):\ngate-2\n');
    expect(String(mail?.body)).not.toContain('gate-4');
    expect(await showIssue(t, id)).toMatchObject({ status: 'in_progress', assignee: s.address });
    // The process the gate started was stopped too: it never gets to finish.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(existsSync(marker)).toBe(false);
  });

  it('two conflicting branches: the first merges, the second is told to rebase, then merges', async () => {
    const first = await issue(t, 'Say hi');
    const second = await issue(t, 'Say hello');
    const a = await submit(t, first, { 'src/main.txt': 'hi\n' });
    const b = await submit(t, second, { 'src/main.txt': 'hello there\n' });
    const listed = await mqList(t);
    expect(listed.groups).toEqual([
      { group: 1, entries: [first, second], shared: ['src/main.txt'] },
    ]);

    expect(await processQueue(t)).toMatchObject([
      { id: first, state: 'merged' },
      { id: second, state: 'conflict' },
    ]);
    expect(onOriginMain(t, 'src/main.txt')).toBe('hi');
    const mail = polecatInbox(b.polecat).find((m) =>
      String(m.subject).startsWith('Rebase required'),
    );
    expect(String(mail?.body)).toContain('src/main.txt');
    expect(mail).toMatchObject({ conflict_files: ['src/main.txt'] });
    expect(await mqStatus(t, second)).toMatchObject({
      state: 'conflict',
      conflict_files: ['src/main.txt'],
    });
    expect(polecatInbox(a.polecat).some((m) => m.subject === `Merged: ${first}`)).toBe(true);
    // The waiting entry is not retried by itself.
    expect(await processQueue(t)).toEqual([]);

    // The polecat rebases onto the new main, resolves, pushes and runs `gt done` again.
    git(b.clone, 'fetch', '-q', 'origin');
    git(b.clone, 'reset', '-q', '--hard', 'origin/main');
    commitAndPush(b.clone, { 'src/main.txt': 'hi, and hello there\n' }, `rebased ${second}`);
    await done(t, b.address);
    expect(await mqStatus(t, second)).toMatchObject({ state: 'queued' });
    expect(await processQueue(t)).toMatchObject([{ id: second, state: 'merged' }]);
    expect(onOriginMain(t, 'src/main.txt')).toBe('hi, and hello there');
    expect(await showIssue(t, second)).toMatchObject({ status: 'closed' });
  });

  it('gt mq retry re-queues a conflicted entry', async () => {
    const first = await issue(t, 'One');
    const second = await issue(t, 'Two');
    await submit(t, first, { 'src/main.txt': 'one\n' });
    await submit(t, second, { 'src/main.txt': 'two\n' });
    await processQueue(t);
    expect(await mqStatus(t, second)).toMatchObject({ state: 'conflict' });
    const r = await gt(['mq', 'retry', `alpha/${second}`], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('queued again');
    expect(await processQueue(t)).toMatchObject([{ id: second, state: 'conflict' }]);
    expect((await mqStatus(t, second)).attempts).toBe(2);
  });

  it('orders by priority then submission, shows overlap groups, and mails the oracle plugins once', async () => {
    mkdirSync(join(t.town, 'alpha', 'plugins', 'merge-oracle'), { recursive: true });
    mkdirSync(join(t.town, 'alpha', 'plugins', 'review-oracle'), { recursive: true });
    const low = await issue(t, 'Low', 3);
    const urgent = await issue(t, 'Urgent', 0);
    const mid = await issue(t, 'Mid', 1);
    await submit(t, low, { 'a.txt': 'low\n' });
    await submit(t, urgent, { 'b.txt': 'urgent\n' });
    await submit(t, mid, { 'a.txt': 'mid\n', 'c.txt': 'mid\n' });

    const listed = await mqList(t);
    expect(listed.entries.map((e) => e.id)).toEqual([urgent, mid, low]);
    expect(listed.groups).toEqual([
      { group: 1, entries: [urgent], shared: [] },
      { group: 2, entries: [mid, low], shared: ['a.txt'] },
    ]);
    const text = await gt(['mq', 'list', 'alpha'], { env: t.env });
    expect(text.stdout).toContain('Overlap groups');
    expect(text.stdout).toContain(`group 2: ${mid} → ${low}  (shared: a.txt)`);

    expect(await processQueue(t, true)).toMatchObject([{ id: urgent, state: 'merged' }]);
    expect(await processQueue(t, true)).toMatchObject([{ id: mid, state: 'merged' }]);
    expect(await processQueue(t, true)).toMatchObject([{ id: low, state: 'conflict' }]);

    const review = inboxOf(join(t.town, 'alpha', 'plugins', 'review-oracle'));
    expect(review.map((m) => m.issue).sort()).toEqual([low, urgent, mid].sort());
    const oracle = inboxOf(join(t.town, 'alpha', 'plugins', 'merge-oracle'));
    expect(oracle).toHaveLength(1);
    expect(String(oracle[0]?.body)).toContain(`group 2: ${mid} → ${low}`);
  });
});

describe('refinery crash safety', () => {
  it('killed mid-merge: origin main intact, doctor reports it, the next run resumes and merges', async () => {
    const marker = join(t.base, 'gate-started');
    setTestCommand(t, `touch ${marker}; sleep 3`);
    const id = await issue(t, 'Slow gate');
    await submit(t, id, { 'slow.txt': 'slow\n' });
    const before = originMain(t);

    const { spawn: spawnChild } = await import('node:child_process');
    const { GT } = await import('../helpers/cli.js');
    const child = spawnChild(process.execPath, [GT, 'refinery', 'process', 'alpha'], {
      env: { ...process.env, ...t.env },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 30_000;
    while (!existsSync(marker) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(marker)).toBe(true);
    child.kill('SIGKILL');
    await exited;

    expect(originMain(t)).toBe(before);
    expect(await mqStatus(t, id)).toMatchObject({ state: 'merging', interrupted: true });
    const doctor = await gt(['doctor', '--json'], { env: t.env });
    expect(doctor.stdout).toContain('merge-stuck');

    const processed = await processQueue(t);
    expect(processed).toMatchObject([{ id, state: 'merged', resumed: true }]);
    expect(originMain(t)).toBe(processed[0]?.commit);
    expect(git(t.repo, 'rev-parse', `${originMain(t)}^1`)).toBe(before);
    expect(onOriginMain(t, 'slow.txt')).toBe('slow');
    expect(await showIssue(t, id)).toMatchObject({ status: 'closed' });
  }, 60_000);
});
