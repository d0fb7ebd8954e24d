// The Refinery around the edges: the loop under `gt up`, a push race (origin moves while the gate
// runs), and the doctor's stuck-merge check with --fix.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gt } from '../helpers/cli.js';
import { git } from '../helpers/git.js';
import {
  issue,
  mqList,
  mqStatus,
  onOriginMain,
  originMain,
  processQueue,
  setTestCommand,
  submit,
} from './refinery-helpers.js';
import { makeSessionTown, showIssue, until, type SessionTown } from './sessions-helpers.js';

let t: SessionTown;

beforeEach(async () => {
  t = await makeSessionTown('gt-mqops-');
});

afterEach(async () => {
  await gt(['down'], { env: t.env });
  await t.cleanup();
});

describe('refinery operations', () => {
  it('the loop under `gt up` merges a submitted entry by itself', async () => {
    const env = { ...t.env, GT_REFINERY_INTERVAL_MS: '300' };
    const up = await gt(['up'], { env });
    expect(up.code, up.stderr).toBe(0);
    const id = await issue(t, 'Daemon merge');
    await submit(t, id, { 'daemon.txt': 'merged by the loop\n' });
    await until(
      'merged by the daemon',
      async () => (await mqStatus(t, id)).state === 'merged',
      30_000,
    );
    expect(onOriginMain(t, 'daemon.txt')).toBe('merged by the loop');
    expect(await showIssue(t, id)).toMatchObject({ status: 'closed' });
    const down = await gt(['down'], { env });
    expect(down.code, down.stderr).toBe(0);
  });

  it('a push race (origin main moves during the gate) is refetched, re-merged, re-tested and pushed', async () => {
    const other = join(t.base, 'other');
    git(t.base, 'clone', '-q', t.repo, other);
    const mark = join(t.base, 'raced');
    // First gate run only: someone else lands a commit on origin's main meanwhile.
    setTestCommand(
      t,
      `if [ ! -e ${mark} ]; then touch ${mark}; cd ${other} && echo race > race.txt && git add race.txt && git -c user.name=o -c user.email=o@x.invalid commit -qm race && git push -q origin HEAD:main; fi`,
    );
    const id = await issue(t, 'Racing');
    await submit(t, id, { 'racing.txt': 'mine\n' });
    const before = originMain(t);
    const processed = await processQueue(t);
    expect(processed).toMatchObject([{ id, state: 'merged' }]);
    const merged = originMain(t);
    expect(merged).toBe(processed[0]?.commit);
    const raceCommit = git(t.repo, 'rev-parse', `${merged}^1`);
    expect(git(t.repo, 'rev-parse', `${raceCommit}^1`)).toBe(before);
    expect(onOriginMain(t, 'race.txt')).toBe('race');
    expect(onOriginMain(t, 'racing.txt')).toBe('mine');
  });

  it('doctor finds an entry stuck in merging with no refinery; --fix restores the clone and re-queues it', async () => {
    const id = await issue(t, 'Stuck');
    await submit(t, id, { 'stuck.txt': 'stuck\n' });
    // Plant the fault: the entry says merging, by a process that is gone; the clone is mid-merge.
    const dead = spawnSync('true').pid;
    const queue = join(t.town, 'alpha', 'refinery', 'queue');
    const request = JSON.parse(readFileSync(join(queue, `${id}.json`), 'utf8')) as {
      submitted_at: string;
      head: string;
    };
    const stateFile = join(queue, `${id}.state.json`);
    writeFileSync(
      stateFile,
      JSON.stringify({
        version: 1,
        submitted_at: request.submitted_at,
        state: 'merging',
        attempts: 1,
        pid: dead,
        updated_at: new Date().toISOString(),
      }),
    );
    const clone = join(t.town, 'alpha', 'refinery', 'rig');
    git(clone, 'fetch', '-q', 'origin');
    git(
      clone,
      '-c',
      'user.name=r',
      '-c',
      'user.email=r@x.invalid',
      'merge',
      '-q',
      '--no-ff',
      '-m',
      'half',
      request.head,
    );
    writeFileSync(join(clone, 'leftover.tmp'), 'junk\n');
    const before = originMain(t);

    const report = await gt(['doctor', '--json'], { env: t.env });
    expect(report.code).toBe(1);
    expect(report.stdout).toContain('merge-stuck');
    expect(report.stdout).toContain(`entry ${id}`);
    const fixed = await gt(['doctor', '--fix'], { env: t.env });
    expect(fixed.stdout + fixed.stderr).toContain(`re-queued ${id}`);
    expect(await mqStatus(t, id)).toMatchObject({ state: 'queued', interrupted: false });
    expect(git(clone, 'status', '--porcelain')).toBe('');
    expect(git(clone, 'rev-parse', 'HEAD')).toBe(before);
    expect(originMain(t)).toBe(before);
    expect(await processQueue(t)).toMatchObject([{ id, state: 'merged' }]);
    expect(onOriginMain(t, 'stuck.txt')).toBe('stuck');
  });
  it('`gt down` during a slow gate cancels the merge: the entry goes back to queued, origin main untouched', async () => {
    const marker = join(t.base, 'gate-started');
    setTestCommand(t, `touch ${marker}; sleep 20`);
    const env = { ...t.env, GT_REFINERY_INTERVAL_MS: '200' };
    expect((await gt(['up'], { env })).code).toBe(0);
    const id = await issue(t, 'Cancelled');
    await submit(t, id, { 'cancel.txt': 'x\n' });
    const before = originMain(t);
    await until('the gate to start', () => existsSync(marker), 30_000);
    const down = await gt(['down'], { env });
    expect(down.code, down.stderr).toBe(0);
    expect(originMain(t)).toBe(before);
    const entry = await mqStatus(t, id);
    expect(entry).toMatchObject({ state: 'queued', interrupted: false });
    expect(entry.last_error).toContain('cancelled');
    const clone = join(t.town, 'alpha', 'refinery', 'rig');
    expect(git(clone, 'status', '--porcelain')).toBe('');
    expect(git(clone, 'rev-parse', 'HEAD')).toBe(before);
  });

  it('killed after the push but before recording it: the next run records the merge, never merges twice', async () => {
    const id = await issue(t, 'Pushed already');
    const s = await submit(t, id, { 'pushed.txt': 'once\n' });
    const queue = join(t.town, 'alpha', 'refinery', 'queue');
    const request = JSON.parse(readFileSync(join(queue, `${id}.json`), 'utf8')) as {
      submitted_at: string;
      head: string;
    };
    // What a refinery killed right after `git push` leaves: the merge on origin, the entry merging.
    const other = join(t.base, 'other');
    git(t.base, 'clone', '-q', t.repo, other);
    git(
      other,
      '-c',
      'user.name=r',
      '-c',
      'user.email=r@x.invalid',
      'merge',
      '-q',
      '--no-ff',
      '-m',
      'pushed merge',
      request.head,
    );
    git(other, 'push', '-q', 'origin', 'HEAD:main');
    const pushed = originMain(t);
    const dead = spawnSync('true').pid;
    writeFileSync(
      join(queue, `${id}.state.json`),
      JSON.stringify({
        version: 1,
        submitted_at: request.submitted_at,
        state: 'merging',
        attempts: 1,
        pid: dead,
        updated_at: new Date().toISOString(),
      }),
    );
    expect(await processQueue(t)).toMatchObject([
      { id, state: 'merged', commit: pushed, resumed: true },
    ]);
    expect(originMain(t)).toBe(pushed);
    expect(await showIssue(t, id)).toMatchObject({ status: 'closed' });
    const inbox = join(t.town, 'alpha', 'polecats', s.polecat, 'mail', 'inbox.jsonl');
    expect(readFileSync(inbox, 'utf8')).toContain(`Merged: ${id}`);
  });
  it('a branch rewritten after gt done is rejected with a mail, and does not block the queue', async () => {
    const rewritten = await issue(t, 'Rewritten', 0);
    const fine = await issue(t, 'Fine', 1);
    const a = await submit(t, rewritten, { 'r.txt': 'first\n' });
    await submit(t, fine, { 'f.txt': 'fine\n' });
    git(a.clone, 'commit', '-q', '--amend', '-m', 'rewritten after gt done');
    git(a.clone, 'push', '-q', '--force', 'origin', 'HEAD');
    expect(await processQueue(t)).toMatchObject([
      { id: rewritten, state: 'rejected' },
      { id: fine, state: 'merged' },
    ]);
    const inbox = readFileSync(join(a.clone, 'mail', 'inbox.jsonl'), 'utf8');
    expect(inbox).toContain('submitted commit not on origin');
    expect(await showIssue(t, rewritten)).toMatchObject({
      status: 'in_progress',
      assignee: a.address,
    });
    expect(onOriginMain(t, 'f.txt')).toBe('fine');
    expect(onOriginMain(t, 'r.txt')).toBeUndefined();
  });

  it('a truncated or ill-typed queue file is shown invalid (list, status, process, doctor), never dropped', async () => {
    const id = await issue(t, 'Corrupt entry');
    const s = await submit(t, id, { 'corrupt.txt': 'kept\n' });
    const file = join(t.town, 'alpha', 'refinery', 'queue', `${id}.json`);
    const good = readFileSync(file, 'utf8');
    const cases: Array<[string, string, RegExp]> = [
      ['truncated', good.slice(0, good.length / 2), /: \(root\): not valid JSON/],
      [
        'epoch "x"',
        JSON.stringify({ ...(JSON.parse(good) as object), epoch: 'x' }),
        /: epoch: Invalid input: expected number, received string/,
      ],
    ];
    for (const [what, text, problem] of cases) {
      writeFileSync(file, text);
      const listed = (await mqList(t)).entries.find((e) => e.id === id);
      expect(listed, what).toMatchObject({ state: 'invalid' });
      expect(listed?.last_error, what).toContain(file);
      expect(listed?.last_error, what).toMatch(problem);
      const table = await gt(['mq', 'list', 'alpha'], { env: t.env });
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(new RegExp(`${id}\\s+invalid`));
      const status = await gt(['mq', 'status', id], { env: t.env });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^state\s+invalid$/m);
      expect(status.stdout).toContain(file);

      const processed = await processQueue(t);
      expect(processed, what).toEqual([
        expect.objectContaining({ id, state: 'invalid', detail: expect.stringContaining(file) }),
      ]);
      const text2 = await gt(['refinery', 'process', 'alpha'], { env: t.env });
      expect(text2.code, text2.stderr).toBe(0);
      expect(text2.stdout).toMatch(new RegExp(`alpha/${id}: invalid — not merged: ${file}`));
      const retry = await gt(['mq', 'retry', id], { env: t.env });
      expect(retry.code).toBe(1);
      expect(retry.stderr).toMatch(/^error: merge queue entry alpha\/\S+ is invalid: /m);
      expect(retry.stderr).toMatch(/^hint: fix the named field by hand/m);

      const doctor = await gt(['doctor', '--json'], { env: t.env });
      expect(doctor.code, what).toBe(1);
      const findings = (
        JSON.parse(doctor.stdout) as {
          findings: Array<{ check: string; status: string; message: string; hint?: string }>;
        }
      ).findings.filter((f) => f.status !== 'ok');
      expect(findings, what).toEqual([
        expect.objectContaining({
          check: 'merge-queue-files',
          status: 'error',
          message: expect.stringMatching(problem) as unknown,
          hint: expect.stringContaining(`gt done --as`) as unknown,
        }),
      ]);
      expect(findings[0]?.message).toContain(file);
      for (const out of [table, status, text2, retry, doctor]) {
        expect(out.stdout + out.stderr).not.toMatch(/internal error|BigInt|"code":/);
      }
      expect(await showIssue(t, id)).toMatchObject({ status: 'in_progress' });
    }
    // As the hint says: the polecat submits again, and the entry merges.
    const again = await gt(['done', '--as', s.address], { env: t.env });
    expect(again.code, again.stderr).toBe(0);
    expect(await processQueue(t)).toEqual([expect.objectContaining({ id, state: 'merged' })]);
    expect(onOriginMain(t, 'corrupt.txt')).toBe('kept');
  });
});
