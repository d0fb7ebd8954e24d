// The seed's "disk full" row for real: a town on a 40 MiB tmpfs, filled up by its own daemon log.
// `gt send` fails with a clear error and leaves the inbox byte-identical; `gt doctor` reports the
// disk; `gt doctor --fix` frees the space by itself (logs first, then idle polecats with nothing
// unsaved, never one with unsaved work) and says what it freed; then mail flows again.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt } from '../helpers/cli.js';
import { fillUntilFull, mountTmpfs, tmpfsUnavailable, unmount } from '../helpers/tmpfs.js';
import {
  createIssue,
  inboxOf,
  makeSessionTown,
  spawn,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import { agentLogHas, patrol, polecatHome, stateOf } from './witness-helpers.js';

const unavailable = tmpfsUnavailable();
if (unavailable !== undefined) console.warn(`disk-full e2e tests skipped: ${unavailable}`);

interface Finding {
  check: string;
  status: string;
  message: string;
  hint: string;
  fixable: boolean;
}

let t: SessionTown;
let idle: string; // a polecat that finished: idle, clone clean and pushed
let parked: string; // a polecat killed mid-work: stopped, with uncommitted work
let parkedWork: string;

async function doctor(
  fix = false,
): Promise<{ code: number; disk: Finding; fixed: string[]; others: Finding[] }> {
  const r = await gt(['doctor', '--json', ...(fix ? ['--fix'] : [])], { env: t.env });
  const report = JSON.parse(r.stdout) as { findings: Finding[]; fixed: string[] };
  const disk = report.findings.find((f) => f.check === 'disk-space');
  if (disk === undefined) throw new Error(`no disk-space finding in ${r.stdout}`);
  const others = report.findings.filter((f) => f.check !== 'disk-space');
  return { code: r.code, disk, fixed: report.fixed, others };
}

beforeAll(async () => {
  if (unavailable !== undefined) return;
  // A 1 MiB file in the project, so each clone's checkout is worth removing.
  const blob = randomBytes(768 * 1024).toString('base64');
  t = await makeSessionTown(
    'gt-disk-',
    { 'README.md': '# sample\n', 'assets/blob.txt': blob },
    { beforeInstall: (town) => mountTmpfs(town, 40) },
  );
  // The parked one first: a spawn reuses an idle polecat with nothing unsaved.
  const hangs = await createIssue(t, 'Never finishes');
  const h = await spawn(t, hangs, 'scripted-hang');
  await until('the agent to start its work', () => agentLogHas(t, 'hang', hangs));
  expect((await gt(['kill', h.address], { env: t.env })).code).toBe(0);
  parked = h.polecat;
  const done = await createIssue(t, 'Finishes');
  const s = await spawn(t, done, 'scripted');
  await until('the done mail', () =>
    inboxOf(join(t.town, 'alpha', 'witness')).some((m) => m.type === 'done'),
  );
  expect((await patrol(t)).actions.map((a) => a.kind)).toContain('cleaned-up');
  idle = s.polecat;
  parkedWork = join(polecatHome(t, parked), 'work', `${hangs}.txt`);
});

afterAll(async () => {
  if (unavailable !== undefined) return;
  await gt(['stop', '--all'], { env: t.env });
  try {
    await t.cleanup(); // kills the town's tmux server, then fails on the busy mount point
  } catch {
    /* removed below */
  }
  unmount(t.town);
  rmSync(t.base, { recursive: true, force: true });
});

// Skipped only where mounting a tmpfs is not permitted (not root, no CAP_SYS_ADMIN); the reason
// is printed. It runs here and in CI, which run as root.
describe.skipIf(unavailable !== undefined)('disk full', () => {
  it('gt send fails clearly and keeps the inbox intact; doctor --fix empties the log that filled it', async () => {
    expect(stateOf(t, idle).state).toBe('idle');
    expect(stateOf(t, parked).state).toBe('stopped');
    expect((await doctor()).disk).toMatchObject({ status: 'ok' });
    expect((await gt(['send', 'mayor', '-s', 'first', '-m', 'before'], { env: t.env })).code).toBe(
      0,
    );

    const log = join(t.town, 'run', 'coordinator.log');
    fillUntilFull(log);
    const inbox = join(t.town, 'mayor', 'mail', 'inbox.jsonl');
    const before = readFileSync(inbox);
    const mailDir = readdirSync(join(t.town, 'mayor', 'mail')).sort();

    const sent = await gt(['send', 'mayor', '-s', 'second', '-m', 'after'], { env: t.env });
    expect(sent.code).toBe(1);
    expect(sent.stderr).toContain(`error: disk full: could not write ${inbox}`);
    expect(sent.stderr).toMatch(/^hint: free space on that filesystem: `gt doctor --fix` /m);
    expect(sent.stderr).not.toMatch(/internal error/);
    expect(readFileSync(inbox).equals(before)).toBe(true);
    expect(readdirSync(join(t.town, 'mayor', 'mail')).sort()).toEqual(mailDir);

    const full = await doctor();
    expect(full.code).toBe(1);
    expect(full.disk).toMatchObject({ status: 'error', fixable: true });
    expect(full.disk.message).toMatch(
      new RegExp(
        `^disk nearly full: \\d+ B free of 40\\.0 MiB \\(0%\\) on the filesystem of ${t.town} \\(error below 409\\.6 KiB\\); writes will fail$`,
      ),
    );
    expect(full.disk.hint).toMatch(
      /^`gt doctor --fix` empties 1 log\(s\) under run\/ \(3\d\.\d MiB\)/,
    );
    // Looking needs (almost) no space: the other checks ran (git status takes no index lock);
    // one that could not (the merge queue reads beads, whose WAL needs room) says why.
    for (const f of full.others.filter((o) => o.status === 'error')) {
      expect(f.message).toMatch(/disk full: could not write /);
      expect(f.hint).toMatch(/^free space on that filesystem/);
    }

    const fixed = await doctor(true);
    // (Other repairs may be listed too: the tmux server exited with its last session.)
    expect(fixed.fixed.filter((l) => l.startsWith('freed'))).toEqual([
      expect.stringMatching(
        /^freed 3\d\.\d MiB on the town's filesystem: emptied run\/coordinator\.log \(3\d\.\d MiB\)$/,
      ),
    ]);
    expect(fixed.disk.status).toBe('ok');
    expect(statSync(log).size).toBe(0);
    expect(existsSync(polecatHome(t, idle))).toBe(true); // the log was enough: no clone removed

    const again = await gt(['send', 'mayor', '-s', 'second', '-m', 'after'], { env: t.env });
    expect(again.code, again.stderr).toBe(0);
    expect(inboxOf(join(t.town, 'mayor')).map((m) => m.subject)).toEqual(['first', 'second']);
  });

  it('when logs are not enough, --fix removes idle polecats with nothing unsaved and keeps unsaved work', async () => {
    const mail = await gt(['send', `alpha/${idle}`, '-s', 'read me', '-m', 'later'], {
      env: t.env,
    });
    expect(mail.code, mail.stderr).toBe(0);
    const scratch = join(t.town, 'scratch.bin'); // not gt's to delete
    fillUntilFull(scratch);
    const nothing = `nothing gt may delete is left: free space on that filesystem yourself (\`du -sh ${t.town}/*\` shows what is big)`;
    // One polecat holds unsaved work, the other unread mail: neither may go.
    expect((await doctor()).disk).toMatchObject({ status: 'error', fixable: false, hint: nothing });

    fillUntilFull(scratch, 64 * 1024); // room to mark the mail read
    const read = await gt(['mail', 'mark-read', '--all', '--as', `alpha/${idle}`], { env: t.env });
    expect(read.code, read.stderr).toBe(0);
    const full = await doctor();
    expect(full.disk.status).toBe('error');
    expect(full.disk.hint).toBe(
      `\`gt doctor --fix\` removes 1 idle polecat(s) with nothing unsaved and no unread mail (alpha/${idle})`,
    );

    const fixed = await doctor(true);
    expect(fixed.fixed).toEqual([
      expect.stringMatching(
        new RegExp(
          `^freed 1\\.\\d MiB on the town's filesystem: removed idle polecat alpha/${idle} and its clone \\(nothing unsaved\\)$`,
        ),
      ),
    ]);
    expect(existsSync(polecatHome(t, idle))).toBe(false);
    expect(readFileSync(parkedWork, 'utf8')).toContain('Work on');
    expect(existsSync(scratch)).toBe(true);
    // Better, not good: what is left is not gt's to delete, and the doctor says so.
    expect(fixed.disk).toMatchObject({ status: 'warning', fixable: false, hint: nothing });

    rmSync(scratch);
    expect((await doctor()).disk.status).toBe('ok');
  });
});
