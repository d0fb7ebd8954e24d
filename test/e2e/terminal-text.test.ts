// Hostile subjects, bodies and titles never reach the Overseer's terminal raw: every human table
// and detail view of the built gt and bd shows control characters as visible escapes and keeps one
// row per item; --json keeps the exact text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bd, gt, gtJson, type RunResult } from '../helpers/cli.js';
import { createIssue, makeSessionTown, type SessionTown } from './sessions-helpers.js';

// Clears the screen, sets the window title, rings the bell, a one-byte CSI, DEL, line breaks.
const HOSTILE = 'clear\x1b[2J\x1b]0;pwned\x07 csi\x9b31m del\x7f\nsecond line\rthird';
const SHOWN = 'clear\\x1b[2J\\x1b]0;pwned\\x07 csi\\x9b31m del\\x7f\\nsecond line\\rthird';
const BODY = 'first line\x1b[2J\nsecond line\x07';

let t: SessionTown;
let issue: string;
let plain: string;

beforeAll(async () => {
  t = await makeSessionTown('gt-ttext-');
  issue = await createIssue(t, HOSTILE, BODY);
  plain = await createIssue(t, 'plain title');
  const asRig = { env: { ...t.env, GT_ADDRESS: 'alpha/witness' } };
  for (const type of ['notice', 'escalation']) {
    const sent = await gt(['send', 'mayor', '-s', HOSTILE, '-m', BODY, '--type', type], asRig);
    expect(sent.code, sent.stderr).toBe(0);
  }
});

afterAll(async () => {
  await t?.cleanup();
});

/** No raw ESC, BEL, C1 or DEL on stdout or stderr. */
function expectClean(r: RunResult, what: string): void {
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
  for (const stream of [r.stdout, r.stderr]) {
    // eslint-disable-next-line no-control-regex -- asserting no controls remain
    expect(stream, what).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  }
}

/** Lines of a table that hold `marker`: exactly one, showing the visible escapes. */
function expectOneRow(stdout: string, marker: string): void {
  const rows = stdout.split('\n').filter((l) => l.includes(marker));
  expect(rows, stdout).toHaveLength(1);
  expect(stdout).not.toMatch(/^second line/m);
  expect(stdout).not.toMatch(/^third/m);
}

describe('terminal text in human views', () => {
  it('gt inbox and gt mail read show controls visibly; --json keeps the exact text', async () => {
    const asMayor = { env: { ...t.env, GT_ADDRESS: 'mayor' } };
    const inbox = await gt(['inbox'], asMayor);
    expectClean(inbox, 'gt inbox');
    expect(inbox.stdout.split('\n').filter((l) => l.includes(SHOWN))).toHaveLength(2);
    expectOneRow(inbox.stdout.replace(SHOWN, ''), SHOWN);
    const listed = await gtJson<{ messages: Array<{ id: string; subject: string }> }>(
      ['inbox'],
      asMayor,
    );
    expect(listed.messages.map((m) => m.subject)).toEqual([HOSTILE, HOSTILE]);
    const id = listed.messages[0]?.id ?? '';
    const read = await gt(['mail', 'read', id, '--peek'], asMayor);
    expectClean(read, 'gt mail read');
    expect(read.stdout).toContain(`Subject:  ${SHOWN}\n`);
    expect(read.stdout).toContain('first line\\x1b[2J\nsecond line\\x07');
    const exact = await gtJson<{ subject: string; body: string }>(
      ['mail', 'read', id, '--peek'],
      asMayor,
    );
    expect(exact).toMatchObject({ subject: HOSTILE, body: BODY });
  });

  it('bd list, ready, show and dep tree show controls visibly; --json keeps the exact text', async () => {
    for (const args of [['list'], ['ready'], ['dep', 'tree', issue]]) {
      const r = await bd(args, { env: t.beadsEnv });
      expectClean(r, `bd ${args.join(' ')}`);
      expectOneRow(r.stdout, SHOWN);
    }
    const list = await bd(['list'], { env: t.beadsEnv });
    expect(list.stdout.trimEnd().split('\n')).toHaveLength(3); // header + two issues
    expect(list.stdout).toContain(plain);
    const show = await bd(['show', issue], { env: t.beadsEnv });
    expectClean(show, 'bd show');
    expect(show.stdout).toContain(`${issue}: ${SHOWN}\n`);
    expect(show.stdout).toContain('first line\\x1b[2J\nsecond line\\x07');
    const json = await bd(['show', issue, '--json'], { env: t.beadsEnv });
    expect(JSON.parse(json.stdout)).toMatchObject([{ title: HOSTILE, description: BODY }]);
  });

  it('gt status, gt polecats and gt swarm status stay clean with a hostile issue in flight', async () => {
    const swarm = await gtJson<{ id: string }>(
      ['swarm', 'start', t.rig, '--issues', issue, '--agent', 'echo'],
      { env: t.env },
    );
    const status = await gt(['status'], { env: t.env });
    expectClean(status, 'gt status');
    expectOneRow(status.stdout, SHOWN); // the escalation's subject, one row
    for (const args of [
      ['polecats', t.rig],
      ['swarm', 'status', swarm.id],
      ['swarm', 'list'],
    ]) {
      const r = await gt(args, { env: t.env });
      expectClean(r, `gt ${args.join(' ')}`);
      expect(r.stdout).toContain(args[0] === 'polecats' || args[1] === 'status' ? issue : swarm.id);
    }
  });

  it('usage errors echo hostile arguments visibly', async () => {
    const r = await gt([`nosuch\x1b[2Jcommand`]);
    expect(r.code).toBe(2);
    // eslint-disable-next-line no-control-regex -- asserting no controls remain
    expect(r.stderr).not.toMatch(/\u001b/);
    expect(r.stderr).toContain('nosuch\\x1b[2Jcommand');
  });
});
