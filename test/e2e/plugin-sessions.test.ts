// Plugin sessions with real tmux, git and the scripted agent: `gt plugin start` runs the plugin's
// agent in its rig/ clone (else its home) with the plugin's environment and types its first
// prompt; status, patrol and doctor treat it as a running agent; new mail (sent, or a refinery
// hook) types a notice into it; stop, crash repair, `gt stop --all`, and the refusals.
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import { git } from '../helpers/git.js';
import { issue, submit } from './refinery-helpers.js';
import {
  inboxOf,
  makeSessionTown,
  tmuxPanePid,
  tmuxSessions,
  until,
  type SessionTown,
} from './sessions-helpers.js';
import { doctorJson, makePlugin, patrol, pluginHome, setWitnessConfig } from './witness-helpers.js';

interface PluginJson {
  address: string;
  state: string;
  session: string;
  session_alive: boolean;
  agent: string;
  epoch: string;
  unread: number;
}

interface StartJson {
  plugin: PluginJson;
  cwd: string;
  total_ms: number;
}

const ORACLE = 'alpha/plugins/merge-oracle';
const ORACLE_SESSION = 'gt-alpha-plugin-merge_-oracle';
let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-plugin-');
  makePlugin(t, 'merge-oracle');
  // The seed's optional plugin clone: the session must run in it.
  git(t.base, 'clone', '-q', t.repo, join(pluginHome(t, 'merge-oracle'), 'rig'));
  makePlugin(t, 'plan-oracle');
});

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

const start = (name: string, ...extra: string[]): Promise<StartJson> =>
  gtJson<StartJson>(['plugin', 'start', `alpha/${name}`, '--agent', 'scripted', ...extra], {
    env: t.env,
  });

const stateOf = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(pluginHome(t, name), 'state.json'), 'utf8')) as Record<
    string,
    unknown
  >;

/** What the scripted agent of `address` was typed (its log), in order. */
function promptsOf(address: string): string[] {
  return readFileSync(t.agentLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; who: string; text?: string })
    .filter((e) => e.event === 'prompt' && e.who === address)
    .map((e) => e.text ?? '');
}

/** The environment and cwd of the process running in a session's pane (Linux /proc). */
function paneProcess(session: string): { env: Record<string, string>; cwd: string } {
  const pid = tmuxPanePid(t, session);
  if (pid === undefined || pid === '') throw new Error(`no pane for ${session}`);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  return { env, cwd: readlinkSync(`/proc/${pid}/cwd`) };
}

/** A typed mail notice: its text before `(gt mail read <short id>)`, and that short id. */
function noticeOf(text: string): { line: string; idPart: boolean; short: string } {
  const m = /^(.*) \(gt mail read ([a-z0-9]{8})\)$/.exec(text);
  return { line: m?.[1] ?? text, idPart: m !== null, short: m?.[2] ?? '?' };
}

async function capture(address: string): Promise<string> {
  const r = await gt(['capture', address], { env: t.env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('gt plugin start', () => {
  it('runs the agent in the rig/ clone with the plugin env, types the prompt, shows it running', async () => {
    const clone = join(pluginHome(t, 'merge-oracle'), 'rig');
    const r = await start('merge-oracle');
    expect(r.cwd).toBe(clone);
    expect(r.plugin).toMatchObject({
      address: ORACLE,
      state: 'working',
      session: ORACLE_SESSION,
      session_alive: true,
      agent: 'scripted',
      epoch: '1',
    });
    expect(stateOf('merge-oracle')).toMatchObject({
      role: 'plugin',
      state: 'working',
      session: ORACLE_SESSION,
      agent: 'scripted',
      epoch: 1,
    });

    const proc = paneProcess(ORACLE_SESSION);
    expect(proc.cwd).toBe(clone);
    expect(proc.env).toMatchObject({
      GT_ADDRESS: ORACLE,
      GT_ROLE: 'plugin',
      GT_RIG: 'alpha',
      GT_PLUGIN: 'merge-oracle',
      GT_EPOCH: '1',
      GT_TOWN: t.town,
      BD_ACTOR: ORACLE,
      BEADS_DIR: join(t.town, 'alpha', '.beads'),
    });
    expect(proc.env.PATH?.split(':')[0]).toBe(join(t.town, 'run', 'bin'));

    // The default first prompt, typed once the agent was ready, and answered.
    expect(promptsOf(ORACLE)).toEqual([
      'You are the merge-oracle plugin of rig alpha. Read your mail with `gt inbox` and act on each task; reply to the sender with `gt send`.',
    ]);
    await until('the agent to answer its prompt', async () =>
      (await capture(ORACLE)).includes('noted (no issue in this prompt)'),
    );
    expect(await capture(ORACLE)).toContain(`scripted agent (normal) at ${clone}`);

    // Listings and the town status show it running.
    const list = await gtJson<{ plugins: PluginJson[] }>(['plugins', 'alpha'], { env: t.env });
    expect(list.plugins.map((p) => [p.address, p.state, p.session_alive, p.agent])).toEqual([
      [ORACLE, 'working', true, 'scripted'],
      ['alpha/plugins/plan-oracle', 'none', false, ''],
    ]);
    const table = await gt(['plugins', 'alpha'], { env: t.env });
    expect(table.stdout).toMatch(/alpha\/plugins\/merge-oracle +working +alive +scripted/);
    const one = await gt(['plugin', 'status', 'alpha/merge-oracle'], { env: t.env });
    expect(one.stdout).toContain(`session   ${ORACLE_SESSION} alive (agent scripted, epoch 1)`);
    const st = await gtJson<{
      rigs: Array<{ agents: Array<{ address: string; state: string; session_alive: boolean }> }>;
    }>(['status'], { env: t.env });
    expect(st.rigs[0]?.agents.find((a) => a.address === ORACLE)).toMatchObject({
      state: 'working',
      session_alive: true,
    });
  });

  it('is left alone by the Witness patrol, and the doctor finds no zombie or crash', async () => {
    // Thresholds at which any silent polecat would be nudged and reported stuck at once.
    setWitnessConfig(t, { nudge_interval_ms: 1, max_nudges: 1, stuck_timeout_ms: 1 });
    await new Promise((r) => setTimeout(r, 50));
    const before = promptsOf(ORACLE).length;
    // Two patrols: the first would record a worker, the second nudge it (no progress since).
    for (const p of [await patrol(t), await patrol(t)]) {
      expect(p.polecats).toBe(0);
      expect(p.actions).toEqual([]);
    }
    const report = await doctorJson(t);
    setWitnessConfig(t, { nudge_interval_ms: 3_600_000, stuck_timeout_ms: 3_600_000 });
    expect(
      report.findings
        .filter((f) => ['zombie-sessions', 'agent-crash', 'heartbeat-health'].includes(f.check))
        .map((f) => [f.check, f.status]),
    ).toEqual([
      ['agent-crash', 'ok'],
      ['zombie-sessions', 'ok'],
      ['heartbeat-health', 'ok'],
    ]);
    expect(report.findings.filter((f) => f.message.includes('merge-oracle'))).toEqual([]);
    expect(promptsOf(ORACLE)).toHaveLength(before); // nothing typed into it
    expect(tmuxSessions(t)).toContain(ORACLE_SESSION);
  });

  it('refuses a running plugin, a missing plugin, a bad address and an unknown preset', async () => {
    const again = await gt(['plugin', 'start', 'alpha/merge-oracle'], { env: t.env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      `error: plugin ${ORACLE} is already running (session ${ORACLE_SESSION})`,
    );
    expect(again.stderr).toContain('hint: stop it first with `gt plugin stop alpha/merge-oracle`');
    expect(stateOf('merge-oracle')).toMatchObject({ state: 'working', epoch: 1 });

    const missing = await gt(['plugin', 'start', 'alpha/nope'], { env: t.env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error: no plugin "nope" in rig alpha');
    expect(missing.stderr).toContain('hint: plugins of alpha: merge-oracle, plan-oracle');

    for (const bad of ['alpha', 'alpha/witness/x', 'alpha/plugins/..', 'alpha/a b'] as const) {
      const r = await gt(['plugin', 'start', bad], { env: t.env });
      expect([bad, r.code]).toEqual([bad, 2]);
    }

    const preset = await gt(['plugin', 'start', 'alpha/plan-oracle', '--agent', 'nosuch'], {
      env: t.env,
    });
    expect(preset.code).toBe(1);
    expect(preset.stderr).toContain('error: unknown agent preset "nosuch"');
    expect(tmuxSessions(t)).not.toContain('gt-alpha-plugin-plan_-oracle');
  });
});

describe('mail to a running plugin', () => {
  it('types a notice for mail sent to it and for the refinery merge-oracle hook', async () => {
    const sent = await gtJson<{ id: string }>(
      ['send', ORACLE, '-s', 'Look at the queue', '-m', 'please'],
      { env: t.env },
    );
    const notice = await until('the notice of the sent mail', () =>
      promptsOf(ORACLE).find((p) => p.includes('Look at the queue')),
    );
    expect(noticeOf(notice)).toMatchObject({
      line: '[gt mail] normal notice from overseer: Look at the queue',
      idPart: true,
    });
    expect(sent.id).toContain(noticeOf(notice).short);

    // The seed's "before merge processing" hook: the refinery mails merge-oracle (type task).
    const id = await issue(t, 'Hooked');
    await submit(t, id, { 'hooked.txt': 'hooked\n' });
    const processed = await gt(['refinery', 'process', 'alpha', '--once'], { env: t.env });
    expect(processed.code, processed.stderr).toBe(0);
    const hook = inboxOf(pluginHome(t, 'merge-oracle')).find((m) => m.from === 'alpha/refinery');
    expect(hook).toMatchObject({ type: 'task', subject: 'Analyze merge queue (1 pending)' });
    const typed = await until('the notice of the hook mail', () =>
      promptsOf(ORACLE).find((p) => p.includes('Analyze merge queue')),
    );
    expect(noticeOf(typed)).toMatchObject({
      line: '[gt mail] normal task from alpha/refinery: Analyze merge queue (1 pending)',
      idPart: true,
    });
    expect(String(hook?.id)).toContain(noticeOf(typed).short);
    await until('the agent to answer the notice', async () =>
      (await capture(ORACLE)).includes('Analyze merge queue (1 pending)'),
    );
  });

  it('a plugin that is not running gets the mail without a notice', async () => {
    const r = await gt(['send', 'alpha/plugins/plan-oracle', '-s', 'Plan it', '-m', 'x'], {
      env: t.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(inboxOf(pluginHome(t, 'plan-oracle')).map((m) => m.subject)).toContain('Plan it');
    expect(promptsOf('alpha/plugins/plan-oracle')).toEqual([]);
  });
});

describe('gt handoff from a plugin', () => {
  it("restarts it in its clone with the same epoch, the clone's unsaved work in the note", async () => {
    const clone = join(pluginHome(t, 'merge-oracle'), 'rig');
    writeFileSync(join(clone, 'oracle-notes.txt'), 'draft\n');
    const r = await gt(['handoff', '--as', ORACLE, '-m', 'keep analysing'], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    const note = await until('the handoff prompt', () =>
      promptsOf(ORACLE).find((p) => p.startsWith('Handoff from your previous session')),
    );
    expect(note).toContain('keep analysing');
    expect(note).toContain('oracle-notes.txt');
    expect(paneProcess(ORACLE_SESSION)).toMatchObject({ cwd: clone });
    expect(paneProcess(ORACLE_SESSION).env.GT_EPOCH).toBe('1');
    rmSync(join(clone, 'oracle-notes.txt'));
  });
});

describe('gt plugin stop, crashes and gt stop --all', () => {
  it('stop kills the session and sets the plugin idle; start again is a new epoch', async () => {
    const r = await gt(['plugin', 'stop', 'alpha/merge-oracle'], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`stopped ${ORACLE}: killed session ${ORACLE_SESSION}; state idle`);
    expect(tmuxSessions(t)).not.toContain(ORACLE_SESSION);
    expect(stateOf('merge-oracle')).toMatchObject({ state: 'idle', epoch: 1 });
    expect(stateOf('merge-oracle').session).toBeUndefined();
    const one = await gt(['plugin', 'status', 'alpha/merge-oracle'], { env: t.env });
    expect(one.stdout).toContain(`${ORACLE}: idle`);
    expect(one.stdout).toContain(`session   ${ORACLE_SESSION} not running`);
    const captured = await gt(['capture', ORACLE], { env: t.env });
    expect(captured.code).toBe(1);
    expect(captured.stderr).toContain('hint: start it with `gt plugin start alpha/merge-oracle`');
    const twice = await gt(['plugin', 'stop', 'alpha/merge-oracle'], { env: t.env });
    expect(twice.stdout).toContain(`no session ${ORACLE_SESSION} was running`);

    const again = await start('merge-oracle', '--prompt', 'Only this');
    expect(again.plugin).toMatchObject({ state: 'working', session_alive: true, epoch: '2' });
    expect(promptsOf(ORACLE).at(-1)).toBe('Only this');
    expect(paneProcess(ORACLE_SESSION).env.GT_EPOCH).toBe('2');
  });

  it('a plugin without a clone runs in its home; a dead session is an agent crash the doctor fixes', async () => {
    const home = pluginHome(t, 'plan-oracle');
    const r = await start('plan-oracle');
    expect(r.cwd).toBe(home);
    expect(paneProcess('gt-alpha-plugin-plan_-oracle').cwd).toBe(home);
    execFileSync('tmux', [
      '-S',
      join(t.town, 'run', 'tmux.sock'),
      'kill-session',
      '-t',
      '=gt-alpha-plugin-plan_-oracle',
    ]);
    const report = await doctorJson(t);
    expect(report.findings.filter((f) => f.check === 'agent-crash').map((f) => f.message)).toEqual([
      'agent crash: alpha/plugins/plan-oracle is "working" but its session gt-alpha-plugin-plan_-oracle is gone',
    ]);
    const fixed = await doctorJson(t, true);
    expect(fixed.fixed).toContain('reset alpha/plugins/plan-oracle to idle (its session was gone)');
    expect(stateOf('plan-oracle')).toMatchObject({ state: 'idle' });
    expect((await start('plan-oracle')).plugin).toMatchObject({ session_alive: true, epoch: '2' });
  });

  it('gt kill, gt inject and gt stop --all accept plugin sessions', async () => {
    const typed = await gt(['inject', ORACLE, 'typed by hand'], { env: t.env });
    expect(typed.code, typed.stderr).toBe(0);
    await until('the injected text', () => promptsOf(ORACLE).includes('typed by hand'));
    const killed = await gt(['kill', 'alpha/plugins/plan-oracle'], { env: t.env });
    expect(killed.stdout).toContain('killed session gt-alpha-plugin-plan_-oracle; state stopped');
    expect(await start('plan-oracle')).toMatchObject({ plugin: { epoch: '3' } });

    const stopped = await gtJson<{ stopped: Array<{ address: string; killed: boolean }> }>(
      ['stop', '--all'],
      { env: t.env },
    );
    expect(
      stopped.stopped.filter((s) => s.address.includes('/plugins/')).map((s) => s.address),
    ).toEqual([ORACLE, 'alpha/plugins/plan-oracle']);
    expect(tmuxSessions(t).filter((s) => s.includes('-plugin-'))).toEqual([]);
    expect(stateOf('merge-oracle')).toMatchObject({ state: 'stopped' });
    const list = await gtJson<{ plugins: PluginJson[] }>(['plugins', 'alpha'], { env: t.env });
    expect(list.plugins.map((p) => p.session_alive)).toEqual([false, false]);
  });
});
