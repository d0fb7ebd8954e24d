import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  runDoctor,
  type DoctorCheck,
  type DoctorFinding,
  type DoctorReport,
} from '../../../node-agent/index.js';
import { git } from '../../helpers/git.js';
import { makeTownWithRig, readJson } from './fixtures.js';

function problems(report: DoctorReport): DoctorFinding[] {
  return report.findings.filter((f) => f.status !== 'ok');
}

async function expectClean(root: string): Promise<void> {
  const report = await runDoctor({ townRoot: root });
  expect(problems(report)).toEqual([]);
  expect(report.ok).toBe(true);
}

describe('runDoctor', () => {
  it('reports OK for every check of a fresh town with a rig', async () => {
    const { root } = await makeTownWithRig();
    const report = await runDoctor({ townRoot: root });
    expect(report.ok).toBe(true);
    expect(report.fixed).toEqual([]);
    expect(report.findings.map((f) => `${f.scope}:${f.rig ?? '-'}:${f.check}:${f.status}`)).toEqual(
      [
        'workspace:-:disk-space:ok',
        'workspace:-:town-config:ok',
        'workspace:-:rigs-config:ok',
        'workspace:-:federation-config:ok',
        'workspace:-:mayor-home:ok',
        'workspace:-:rig-registry:ok',
        'workspace:-:runtime-files:ok',
        'workspace:-:stale-locks:ok',
        'rig:wyvern:rig-root-not-clone:ok',
        'rig:wyvern:rig-config:ok',
        'rig:wyvern:rig-beads:ok',
        'rig:wyvern:refinery-clone:ok',
        'rig:wyvern:mayor-clone:ok',
        'rig:wyvern:agent-homes:ok',
        'rig:wyvern:worker-homes:ok',
      ],
    );
    expect(report.findings[0]?.message).toMatch(
      /^disk space: [\d.]+ [KMGT]iB free of [\d.]+ [KMGT]iB \(\d+%\) on the town's filesystem$/,
    );
    expect(report.findings[1]?.message).toBe('config/town.json is valid: ok');
  });

  it('finds missing mailboxes and state files and --fix recreates them', async () => {
    const { root } = await makeTownWithRig();
    rmSync(join(root, 'mayor/mail/inbox.jsonl'));
    rmSync(join(root, 'wyvern/witness/mail'), { recursive: true });
    rmSync(join(root, 'wyvern/refinery/state.json'));
    writeFileSync(join(root, 'wyvern/witness/mail-keep.txt'), 'user file');
    const report = await runDoctor({ townRoot: root });
    expect(report.ok).toBe(false);
    expect(problems(report)).toEqual([
      {
        check: 'mayor-home',
        scope: 'workspace',
        status: 'error',
        message: `mailbox ${join(root, 'mayor/mail/inbox.jsonl')} is missing (mail to this agent cannot be delivered)`,
        hint: 'run `gt doctor --fix` to recreate an empty mailbox',
        fixable: true,
      },
      {
        check: 'agent-homes',
        scope: 'rig',
        rig: 'wyvern',
        status: 'error',
        message: `mailbox ${join(root, 'wyvern/witness/mail/inbox.jsonl')} is missing (mail to this agent cannot be delivered)`,
        hint: 'run `gt doctor --fix` to recreate an empty mailbox',
        fixable: true,
      },
      {
        check: 'agent-homes',
        scope: 'rig',
        rig: 'wyvern',
        status: 'error',
        message: `state file ${join(root, 'wyvern/refinery/state.json')} is missing`,
        hint: 'run `gt doctor --fix` to write an idle state',
        fixable: true,
      },
    ]);
    const fixed = await runDoctor({ townRoot: root, fix: true });
    expect(fixed.ok).toBe(true);
    expect(fixed.fixed).toEqual([
      `created ${join(root, 'mayor/mail/inbox.jsonl')}`,
      `created ${join(root, 'wyvern/witness/mail/inbox.jsonl')}`,
      `created ${join(root, 'wyvern/refinery/state.json')}`,
    ]);
    expect(readFileSync(join(root, 'mayor/mail/inbox.jsonl'), 'utf8')).toBe('');
    expect(readJson(join(root, 'wyvern/refinery/state.json'))).toMatchObject({
      role: 'refinery',
      state: 'idle',
    });
    expect(readFileSync(join(root, 'wyvern/witness/mail-keep.txt'), 'utf8')).toBe('user file');
    await expectClean(root);
  });

  it('reports a corrupt rigs.json by file and field; --fix sets it aside and re-registers', async () => {
    const { root, bare } = await makeTownWithRig();
    const file = join(root, 'config/rigs.json');
    writeFileSync(file, JSON.stringify({ version: 1, rigs: { wyvern: { git_url: 42 } } }));
    const report = await runDoctor({ townRoot: root });
    const rigsFinding = report.findings.find((f) => f.check === 'rigs-config');
    expect(rigsFinding).toMatchObject({ status: 'error', fixable: true });
    expect(rigsFinding?.message).toContain(`${file}: rigs.wyvern.git_url: Invalid input`);
    expect(rigsFinding?.message).toContain(`${file}: rigs.wyvern.added_at:`);
    expect(rigsFinding?.hint).toContain('sets the broken file aside');
    expect(report.findings.find((f) => f.check === 'rig-registry')?.status).toBe('warning');
    const fixed = await runDoctor({ townRoot: root, fix: true });
    expect(fixed.fixed[0]).toMatch(/^set the broken .*rigs\.json aside as .*rigs\.json\.broken-/);
    expect(fixed.fixed[1]).toBe(`re-registered rig "wyvern" (${bare}) in config/rigs.json`);
    expect(fixed.ok).toBe(true);
    const aside = readdirSync(join(root, 'config')).filter((n) =>
      n.startsWith('rigs.json.broken-'),
    );
    expect(aside).toHaveLength(1);
    expect(readJson(file)).toMatchObject({
      rigs: { wyvern: { git_url: bare, prefix: 'wyv' } },
    });
    await expectClean(root);
  });

  it('re-registers a rig that is on disk but missing from rigs.json', async () => {
    const { root } = await makeTownWithRig();
    writeFileSync(join(root, 'config/rigs.json'), '{"version": 1, "rigs": {}}\n');
    const report = await runDoctor({ townRoot: root });
    expect(problems(report)).toEqual([
      {
        check: 'rig-registry',
        scope: 'workspace',
        status: 'warning',
        message: `rig "wyvern" is on disk (${join(root, 'wyvern')}) but not registered in config/rigs.json`,
        hint: 'run `gt doctor --fix` to re-register it from its config.json',
        fixable: true,
      },
    ]);
    expect(report.ok).toBe(true);
    await runDoctor({ townRoot: root, fix: true });
    await expectClean(root);
  });

  it('reports a registered rig whose directory is gone, without a fix', async () => {
    const { root } = await makeTownWithRig();
    renameSync(join(root, 'wyvern'), join(root, '..', 'wyvern-moved'));
    onTestFinished(() =>
      rmSync(join(root, '..', 'wyvern-moved'), { recursive: true, force: true }),
    );
    const report = await runDoctor({ townRoot: root, fix: true });
    expect(problems(report)).toEqual([
      {
        check: 'rig-registry',
        scope: 'workspace',
        status: 'error',
        message: `rig "wyvern" is registered but ${join(root, 'wyvern')} is missing`,
        hint: expect.stringContaining('gt rig remove wyvern'),
        fixable: false,
      },
    ]);
    expect(report.fixed).toEqual([]);
  });

  it('re-clones a deleted mayor/rig and refinery/rig', async () => {
    const { root, bare } = await makeTownWithRig();
    rmSync(join(root, 'wyvern/mayor/rig'), { recursive: true });
    rmSync(join(root, 'wyvern/refinery/rig'), { recursive: true });
    const report = await runDoctor({ townRoot: root });
    expect(problems(report).map((f) => [f.check, f.status, f.message, f.fixable])).toEqual([
      [
        'refinery-clone',
        'error',
        `refinery clone ${join(root, 'wyvern/refinery/rig')} is missing`,
        true,
      ],
      ['mayor-clone', 'error', `mayor clone ${join(root, 'wyvern/mayor/rig')} is missing`, true],
    ]);
    expect(problems(report)[0]?.hint).toBe('run `gt doctor --fix` to clone it again');
    const fixed = await runDoctor({ townRoot: root, fix: true });
    expect(fixed.fixed).toEqual([
      `cloned refinery into ${join(root, 'wyvern/refinery/rig')}`,
      `cloned mayor into ${join(root, 'wyvern/mayor/rig')}`,
    ]);
    for (const clone of ['refinery/rig', 'mayor/rig']) {
      const dir = join(root, 'wyvern', clone);
      expect(git(dir, 'branch', '--show-current')).toBe('main');
      expect(git(dir, 'remote', 'get-url', 'origin')).toBe(bare);
    }
    await expectClean(root);
  });

  it('flags a rig root that is a git repo and never deletes its .git', async () => {
    const { root } = await makeTownWithRig();
    git(join(root, 'wyvern'), 'init', '-q');
    const report = await runDoctor({ townRoot: root, fix: true });
    expect(problems(report)).toEqual([
      {
        check: 'rig-root-not-clone',
        scope: 'rig',
        rig: 'wyvern',
        status: 'error',
        message: `${join(root, 'wyvern')} is a git clone (it has .git); a rig root must be a plain container`,
        hint: expect.stringContaining('move'),
        fixable: false,
      },
    ]);
    expect(report.ok).toBe(false);
    expect(existsSync(join(root, 'wyvern/.git'))).toBe(true);
  });

  it('warns about a clone off the default branch and a broken clone, fixing neither', async () => {
    const { root } = await makeTownWithRig();
    git(join(root, 'wyvern/mayor/rig'), 'switch', '-q', '-c', 'side');
    rmSync(join(root, 'wyvern/refinery/rig/.git'), { recursive: true });
    const report = await runDoctor({ townRoot: root, fix: true });
    expect(report.fixed).toEqual([]);
    expect(problems(report).map((f) => [f.check, f.status, f.fixable])).toEqual([
      ['refinery-clone', 'error', false],
      ['mayor-clone', 'warning', false],
    ]);
    expect(problems(report)[0]?.hint).toContain('gt never deletes it');
    expect(problems(report)[1]?.message).toContain('is on branch "side", not "main"');
    expect(existsSync(join(root, 'wyvern/refinery/rig/README.md'))).toBe(true);
  });

  it('warns when the authoritative refinery clone has uncommitted changes', async () => {
    const { root } = await makeTownWithRig();
    writeFileSync(join(root, 'wyvern/refinery/rig/README.md'), 'edited in place\n');
    const report = await runDoctor({ townRoot: root, fix: true });
    expect(problems(report)).toEqual([
      {
        check: 'refinery-clone',
        scope: 'rig',
        rig: 'wyvern',
        status: 'warning',
        message: `refinery clone ${join(root, 'wyvern/refinery/rig')} has 1 uncommitted change(s); the authoritative main clone should be clean`,
        hint: expect.stringContaining('git -C'),
        fixable: false,
      },
    ]);
    expect(report.ok).toBe(true);
    expect(readFileSync(join(root, 'wyvern/refinery/rig/README.md'), 'utf8')).toBe(
      'edited in place\n',
    );
  });

  it('recreates a missing .beads and missing homes', async () => {
    const { root } = await makeTownWithRig();
    rmSync(join(root, 'wyvern/.beads'), { recursive: true });
    rmSync(join(root, 'wyvern/witness'), { recursive: true });
    rmSync(join(root, 'wyvern/plugins'), { recursive: true });
    const report = await runDoctor({ townRoot: root });
    expect(problems(report).map((f) => [f.check, f.status, f.fixable])).toEqual([
      ['rig-beads', 'error', true],
      ['agent-homes', 'error', true],
      ['worker-homes', 'warning', true],
    ]);
    await runDoctor({ townRoot: root, fix: true });
    expect(readFileSync(join(root, 'wyvern/.beads/config.yaml'), 'utf8')).toContain('wyv');
    expect(readFileSync(join(root, 'wyvern/witness/CLAUDE.md'), 'utf8')).toContain('Witness');
    await expectClean(root);
  });

  it('removes stale pid files and sockets, keeps live ones', async () => {
    const { root } = await makeTownWithRig();
    const run = join(root, 'run');
    writeFileSync(join(run, 'gt.pid'), '999999999\n');
    writeFileSync(join(run, 'gt.sock'), '');
    writeFileSync(join(run, 'junk.pid'), 'not a pid');
    writeFileSync(join(run, 'me.pid'), `${process.pid}\n`);
    writeFileSync(join(run, 'me.sock'), '');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(run, 'live.sock'), resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const report = await runDoctor({ townRoot: root });
    const runtime = problems(report).filter((f) => f.check === 'runtime-files');
    expect(runtime.map((f) => f.message).sort()).toEqual([
      `stale runtime file ${join(run, 'gt.pid')}: process 999999999 is not running`,
      `stale runtime file ${join(run, 'gt.sock')}: no live process owns it and nothing answers on it`,
      `stale runtime file ${join(run, 'junk.pid')}: it holds no valid pid`,
    ]);
    expect(runtime.every((f) => f.fixable && f.status === 'warning')).toBe(true);
    const fixed = await runDoctor({ townRoot: root, fix: true });
    expect(fixed.fixed.sort()).toEqual(
      ['gt.pid', 'gt.sock', 'junk.pid'].map((n) => `removed stale ${join(run, n)}`),
    );
    expect(readdirSync(run).sort()).toEqual(['live.sock', 'me.pid', 'me.sock']);
    await expectClean(root);
  });

  it('removes lock files left by dead processes, keeps live ones', async () => {
    const { root } = await makeTownWithRig();
    const dead = join(root, 'config/rigs.json.lock');
    const inbox = join(root, 'wyvern/witness/mail/inbox.jsonl.lock');
    const live = join(root, 'mayor/state.json.lock');
    writeFileSync(dead, `999999999@${hostname()}`);
    writeFileSync(inbox, `999999998@${hostname()}`);
    writeFileSync(live, `${process.pid}@${hostname()}`);
    const report = await runDoctor({ townRoot: root });
    expect(problems(report).map((f) => [f.check, f.status, f.message, f.fixable])).toEqual([
      [
        'stale-locks',
        'warning',
        `stale lock ${dead}: its holder, process 999999999, is not running`,
        true,
      ],
      [
        'stale-locks',
        'warning',
        `stale lock ${inbox}: its holder, process 999999998, is not running`,
        true,
      ],
    ]);
    const fixed = await runDoctor({ townRoot: root, fix: true });
    expect(fixed.fixed).toEqual([`removed stale lock ${dead}`, `removed stale lock ${inbox}`]);
    expect(existsSync(live)).toBe(true);
    await expectClean(root);
  });

  it('reports a broken town.json and federation.json with file: field: problem', async () => {
    const { root } = await makeTownWithRig();
    writeFileSync(join(root, 'config/town.json'), '{"type": "town", "version": 1, "name": ""');
    rmSync(join(root, 'config/federation.json'));
    const report = await runDoctor({ townRoot: root });
    const town = report.findings.find((f) => f.check === 'town-config');
    expect(town).toMatchObject({ status: 'error', fixable: false });
    expect(town?.message).toContain(join(root, 'config/town.json'));
    expect(report.findings.find((f) => f.check === 'federation-config')).toMatchObject({
      status: 'error',
      message: `${join(root, 'config/federation.json')}: file is missing`,
      fixable: true,
    });
    await runDoctor({ townRoot: root, fix: true });
    expect(readJson(join(root, 'config/federation.json'))).toEqual({
      version: 1,
      machines: { local: { type: 'local' } },
    });
  });

  it('runs extra swarm checks after the built-in ones and applies their repairs', async () => {
    const { root } = await makeTownWithRig();
    let healed = false;
    const stuck: DoctorCheck = {
      id: 'stuck-workers',
      scope: 'swarm',
      title: 'no worker is stuck',
      run: () =>
        Promise.resolve(
          healed
            ? []
            : [
                {
                  status: 'warning' as const,
                  message: 'wyvern/Nux has made no progress for 45 minutes',
                  hint: 'nudge it',
                  repair: () => {
                    healed = true;
                    return Promise.resolve('nudged wyvern/Nux');
                  },
                },
              ],
        ),
    };
    const before = await runDoctor({ townRoot: root, checks: [stuck] });
    expect(before.findings.at(-1)).toEqual({
      check: 'stuck-workers',
      scope: 'swarm',
      status: 'warning',
      message: 'wyvern/Nux has made no progress for 45 minutes',
      hint: 'nudge it',
      fixable: true,
    });
    const after = await runDoctor({ townRoot: root, checks: [stuck], fix: true });
    expect(after.fixed).toEqual(['nudged wyvern/Nux']);
    expect(after.findings.at(-1)).toMatchObject({ check: 'stuck-workers', status: 'ok' });
  });

  it('checks polecat and plugin homes, fixing polecats without dirtying their clones', async () => {
    const { root } = await makeTownWithRig();
    const rig = join(root, 'wyvern');
    mkdirSync(join(rig, 'polecats'), { recursive: true });
    git(join(rig, 'polecats'), 'clone', '-q', join(rig, 'refinery/rig'), 'Nux');
    // A plugin needs its prompt and mailbox; its state.json is optional (seed).
    mkdirSync(join(rig, 'plugins/merge-oracle/mail'), { recursive: true });
    writeFileSync(join(rig, 'plugins/merge-oracle/CLAUDE.md'), '# merge oracle\n');
    writeFileSync(join(rig, 'plugins/merge-oracle/mail/inbox.jsonl'), '');
    const report = await runDoctor({ townRoot: root });
    expect(problems(report).map((f) => f.message)).toEqual([
      `mailbox ${join(rig, 'polecats/Nux/mail/inbox.jsonl')} is missing (mail to this agent cannot be delivered)`,
      `state file ${join(rig, 'polecats/Nux/state.json')} is missing`,
      `role prompt ${join(rig, 'polecats/Nux/CLAUDE.md')} is missing`,
    ]);
    await runDoctor({ townRoot: root, fix: true });
    expect(git(join(rig, 'polecats/Nux'), 'status', '--porcelain')).toBe('');
    await expectClean(root);
  });
});
