/**
 * One Witness patrol of a rig (`gt witness patrol <rig> --once`, and the loop under `gt up`):
 * done signals first, then every working polecat — session alive? progress? — nudging idle ones
 * on a schedule and escalating to the Mayor after `maxNudges` failed nudges, once per cause.
 *
 * Progress is what the worker itself changes: its clone (HEAD, work tree) and its state.json
 * (`gt` commands stamp last_activity). Pane output counts too, but only until the first nudge:
 * the nudge and the agent's reply to it change the pane, and chatter is not progress.
 *
 * Cost: one tmux call per patrol gives every pane's state (`livePanes`); git runs only for a
 * clone whose files changed since the last look (`cloneStamp`), the pane is captured only when
 * its window had activity since the last capture, and a polecat with nothing new costs a few
 * file stats. Before a nudge or an escalation the worker is looked at afresh (git and pane).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, withFileLock } from '../../proto/index.js';
import { answerPrompt, paneState, type AgentPreset } from '../agents/index.js';
import { livePanes, presetFor, readAgentState, townTmux } from '../sessions/index.js';
import type { PaneStateInfo } from '../tmux/index.js';
import { rigAgents, rigPaths, type AgentState } from '../town/index.js';
import { processDoneSignals, type PatrolAction } from './done-signal.js';
import { escalateToMayor, mailPluginHook, nudgeWorker, type Worker } from './notices.js';
import { processSendbacks } from './rework.js';
import { cloneStamp, gitPrint, hash, panePrint, paneText, workPrint } from './work-print.js';
import { readPatrolRecord, updatePatrolRecord, type WorkerWatch } from './patrol-record.js';
import { witnessThresholds, type WitnessThresholds } from './thresholds.js';

export interface PatrolOptions {
  townRoot: string;
  rig: string;
  now?: Date;
  signal?: AbortSignal;
}

export interface PatrolReport {
  rig: string;
  at: string;
  polecats: number;
  actions: PatrolAction[];
}

interface WatchContext {
  t: WitnessThresholds;
  /** The worker's agent preset (for its blocking prompts); undefined when it cannot be resolved. */
  preset: AgentPreset | undefined;
  now: Date;
  actions: PatrolAction[];
  signal: AbortSignal | undefined;
}

/** What one look at a worker saw, and the watch fields that let the next look skip work. */
interface Seen {
  work: string;
  pane: string;
  prompt: string | undefined;
  /** Part of it was taken from the last look (nothing changed there) rather than asked. */
  reused: boolean;
  /** Why git could not be asked: `work` is then the last known one and proves nothing. */
  gitUnknown: string | undefined;
  marks: Pick<WorkerWatch, 'git_print' | 'clone_stamp' | 'pane_activity' | 'pane_prompt'>;
}

/**
 * Look at a worker's clone and pane, asking git only when the clone's stamp changed and tmux
 * only when the window had activity since the last capture (`fresh`: ask both regardless).
 */
async function look(
  w: Worker,
  state: AgentState,
  prev: WorkerWatch | undefined,
  pane: PaneStateInfo | undefined,
  ctx: WatchContext,
  fresh: boolean,
): Promise<Seen> {
  const last = !fresh && prev?.epoch === w.epoch ? prev : undefined;
  const stamp = cloneStamp(w.home); // before git: a change made while git runs shows next time
  const gitKnown = stamp !== undefined && last?.clone_stamp === stamp;
  const asked =
    gitKnown && last.git_print !== undefined ? last.git_print : await gitPrint(w.home, ctx.signal);
  const gitUnknown = typeof asked === 'string' ? undefined : asked.unknown;
  const git = typeof asked === 'string' ? asked : undefined;
  // tmux keeps activity in whole seconds: only an activity second that ended before this
  // patrol began is safe to compare next time (output after the capture lands in a later one).
  const activity = pane?.activity;
  const settled =
    activity !== undefined && activity < Math.floor(ctx.now.getTime() / 1000)
      ? activity
      : undefined;
  const paneKnown = settled !== undefined && last?.pane_activity === settled;
  let panePrint: string;
  let prompt: string | undefined;
  if (paneKnown) {
    panePrint = last.pane_print;
    prompt = last.pane_prompt;
  } else {
    const text = await paneText(w, ctx.signal);
    panePrint = hash(text);
    const asking = ctx.preset === undefined ? undefined : paneState(ctx.preset, text);
    prompt = asking?.state === 'waiting-for-input' ? asking.prompt : undefined;
  }
  return {
    work: git === undefined ? (prev?.work_print ?? '') : workPrint(git, state),
    pane: panePrint,
    prompt,
    reused: (gitKnown && last.git_print !== undefined) || paneKnown,
    gitUnknown,
    marks: {
      git_print: git,
      clone_stamp: git === undefined ? undefined : stamp,
      pane_activity: settled,
      pane_prompt: prompt,
    },
  };
}

/** Look at one working polecat; returns its updated watch record. */
async function watchWorker(
  w: Worker,
  state: AgentState,
  prev: WorkerWatch | undefined,
  pane: PaneStateInfo | undefined,
  ctx: WatchContext,
  fresh = false,
): Promise<WorkerWatch> {
  const now = ctx.now.toISOString();
  const seen = await look(w, state, prev, pane, ctx, fresh);
  const { work, pane: panePrint } = seen;
  if (seen.gitUnknown !== undefined)
    ctx.actions.push({
      address: w.address,
      kind: 'unchecked',
      detail: `could not read its clone's git state: ${seen.gitUnknown}`,
    });
  if (seen.prompt !== undefined)
    return waitingForInput(
      w,
      prev,
      { work, pane: panePrint, prompt: seen.prompt },
      ctx,
      seen.marks,
    );
  if (prev === undefined || prev.epoch !== w.epoch)
    return {
      epoch: w.epoch,
      work_print: work,
      pane_print: panePrint,
      last_progress_at: now,
      nudges: 0,
      escalated: [],
      ...seen.marks,
    };
  // Neither progress nor its absence: no nudge, no stuck escalation on an unknown answer.
  if (seen.gitUnknown !== undefined) return { ...prev, pane_print: panePrint, ...seen.marks };
  const progressed =
    work !== prev.work_print || (prev.nudges === 0 && panePrint !== prev.pane_print);
  const watch: WorkerWatch = { ...prev, work_print: work, pane_print: panePrint, ...seen.marks };
  if (progressed) {
    if (prev.nudges > 0)
      ctx.actions.push({
        address: w.address,
        kind: 'progress',
        detail: 'made progress after a nudge',
      });
    return { ...watch, last_progress_at: now, nudges: 0 };
  }
  const since = (iso: string | undefined): number =>
    iso === undefined ? Infinity : ctx.now.getTime() - Date.parse(iso);
  if (since(prev.last_progress_at) < ctx.t.nudgeIntervalMs) return watch;
  if (since(prev.last_nudge_at) < ctx.t.nudgeIntervalMs) return watch;
  const act = prev.nudges < ctx.t.maxNudges || !watch.escalated.includes('stuck');
  if (!act) return watch; // escalated: the Witness stays quiet about this worker
  // About to nudge or escalate on what an earlier look saw: look afresh first.
  if (seen.reused) return watchWorker(w, state, prev, pane, ctx, true);
  if (prev.nudges < ctx.t.maxNudges) return nudge(w, watch, ctx);
  await escalateStuck(w, watch, ctx);
  return { ...watch, escalated: [...watch.escalated, 'stuck'] };
}

/**
 * The agent sits at a blocking prompt (a permission question, "trust this folder"…): typing a
 * nudge into it could answer it, so the Witness never nudges; it answers a prompt the preset
 * marks safe, and otherwise escalates to the Mayor once (cause `waiting`).
 */
async function waitingForInput(
  w: Worker,
  prev: WorkerWatch | undefined,
  seen: { work: string; pane: string; prompt: string },
  ctx: WatchContext,
  marks: Seen['marks'],
): Promise<WorkerWatch> {
  const base: WorkerWatch =
    prev?.epoch === w.epoch
      ? { ...prev, work_print: seen.work, pane_print: seen.pane, ...marks }
      : {
          epoch: w.epoch,
          work_print: seen.work,
          pane_print: seen.pane,
          last_progress_at: ctx.now.toISOString(),
          nudges: 0,
          escalated: [],
          ...marks,
        };
  const prompt = ctx.preset?.blockingPrompts.find((b) => b.name === seen.prompt);
  if (
    prompt !== undefined &&
    (prompt.answer !== undefined || prompt.choose !== undefined) &&
    (await answerPrompt(townTmux(w.townRoot), w.session, prompt, ctx.signal))
  ) {
    ctx.actions.push({ address: w.address, kind: 'answered', detail: `answered "${seen.prompt}"` });
    return { ...base, pane_activity: undefined }; // the answer changes the pane: capture next time
  }
  if (base.escalated.includes('waiting')) return base;
  const first = await escalateToMayor({
    townRoot: w.townRoot,
    rig: w.rig,
    subject: `${w.name}-e${w.epoch}`,
    cause: 'waiting',
    title: `${w.address} is waiting for input (${seen.prompt})`,
    body: `${w.address} (epoch ${w.epoch}, ${w.issue ?? 'no issue'}) is stopped at a prompt a human must answer: "${seen.prompt}". Look with \`gt capture ${w.address}\` and answer with \`gt inject ${w.address} <answer>\`.`,
    epoch: w.epoch,
  });
  ctx.actions.push({
    address: w.address,
    kind: 'waiting',
    detail: `waiting for input: ${seen.prompt}${first ? '; escalated to the Mayor' : ''}`,
  });
  return { ...base, escalated: [...base.escalated, 'waiting'] };
}

async function nudge(w: Worker, watch: WorkerWatch, ctx: WatchContext): Promise<WorkerWatch> {
  const n = watch.nudges + 1;
  const text = `no progress on ${w.issue ?? 'your issue'} since ${watch.last_progress_at} (nudge ${n}/${ctx.t.maxNudges}). Carry on; when finished commit, push and run gt done. Stuck? gt send ${w.rig}/witness -s stuck -m '<what blocks you>'.`;
  const sent = await nudgeWorker(w, `n${n}`, text, ctx.signal);
  ctx.actions.push({
    address: w.address,
    kind: 'nudged',
    detail: `nudge ${n}/${ctx.t.maxNudges}${sent.typed ? '' : ` (not typed: ${sent.error ?? 'already sent'})`}`,
  });
  // The typed notice changed the pane: re-read it so the nudge is not mistaken for progress.
  return {
    ...watch,
    nudges: n,
    last_nudge_at: ctx.now.toISOString(),
    pane_print: await panePrint(w, ctx.signal),
    pane_activity: undefined,
  };
}

async function escalateStuck(w: Worker, watch: WorkerWatch, ctx: WatchContext): Promise<void> {
  const body = `${w.address} (epoch ${w.epoch}) has made no progress on ${w.issue ?? 'its issue'} since ${watch.last_progress_at} after ${watch.nudges} nudges. Session ${w.session}; clone ${w.home}. Look with \`gt capture ${w.address}\`.`;
  const first = await escalateToMayor({
    townRoot: w.townRoot,
    rig: w.rig,
    subject: `${w.name}-e${w.epoch}`,
    cause: 'stuck',
    title: `${w.address} is stuck on ${w.issue ?? 'its issue'}`,
    body,
    epoch: w.epoch,
  });
  ctx.actions.push({
    address: w.address,
    kind: 'escalated',
    detail: first ? 'stuck: escalated to the Mayor' : 'stuck: already escalated',
  });
  const hooked = await mailPluginHook(w.townRoot, w.rig, 'debug-oracle', {
    id: `witness-debug-${w.rig}-${w.name}-e${w.epoch}`,
    from: `${w.rig}/witness`,
    subject: `Worker stuck: ${w.address} on ${w.issue ?? '?'}`,
    body,
  });
  if (hooked)
    ctx.actions.push({
      address: `${w.rig}/plugins/debug-oracle`,
      kind: 'plugin-hook',
      detail: `worker stuck: ${w.address}`,
    });
}

interface Fault {
  cause: 'crash' | 'blocked';
  title: string;
  body: string;
  detail: string;
}

function faultOf(w: Worker, state: AgentState): Fault {
  const issue = w.issue ?? 'its issue';
  if (state.state === 'stuck')
    return {
      cause: 'blocked',
      title: `${w.address} is blocked on ${issue}`,
      body: `${w.address} (epoch ${w.epoch}) is "stuck": its agent did not take its prompt for ${issue} (a blocking prompt, or it never became ready). Look with \`gt capture ${w.address}\`; \`gt kill\` it and spawn again if needed.`,
      detail: 'agent did not take its prompt',
    };
  return {
    cause: 'crash',
    title: `${w.address} crashed on ${issue}`,
    body: `${w.address} (epoch ${w.epoch}) is "working" on ${issue} but its session ${w.session} is gone. Its clone ${w.home} is kept; \`gt doctor --fix\` resets it to idle and returns the issue to the queue.`,
    detail: `session ${w.session} gone`,
  };
}

/** A crashed (session gone) or blocked (state stuck) worker: escalated once per cause. */
async function faulted(
  w: Worker,
  state: AgentState,
  watch: WorkerWatch | undefined,
  ctx: WatchContext,
): Promise<WorkerWatch> {
  const fault = faultOf(w, state);
  const base: WorkerWatch =
    watch?.epoch === w.epoch
      ? watch
      : {
          epoch: w.epoch,
          work_print: '',
          pane_print: '',
          last_progress_at: ctx.now.toISOString(),
          nudges: 0,
          escalated: [],
        };
  if (base.escalated.includes(fault.cause)) return base;
  const first = await escalateToMayor({
    townRoot: w.townRoot,
    rig: w.rig,
    subject: `${w.name}-e${w.epoch}`,
    cause: fault.cause,
    title: fault.title,
    body: fault.body,
    epoch: w.epoch,
  });
  ctx.actions.push({
    address: w.address,
    kind: fault.cause,
    detail: `${fault.detail}${first ? '; escalated to the Mayor' : ''}`,
  });
  return { ...base, escalated: [...base.escalated, fault.cause] };
}

/** Polecats looked at side by side (each costs a few git and tmux calls). */
const PATROL_CONCURRENCY = 4;

async function inBatches<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Run one patrol of a rig. */
export async function patrolRig(options: PatrolOptions): Promise<PatrolReport> {
  const { townRoot, rig } = options;
  const now = options.now ?? new Date();
  const t = await witnessThresholds(townRoot, rig);
  // One patrol at a time handles the rig's signals on this machine (the daemon's loop and a
  // `gt witness patrol` by hand may run together): a done mail is acted on once, then marked read.
  const signals = async (): Promise<PatrolAction[]> => [
    ...(await processDoneSignals(townRoot, rig)),
    ...(await processSendbacks(townRoot, rig, t)),
  ];
  const witnessHome = rigPaths(townRoot, rig).witnessHome;
  const doneActions = existsSync(witnessHome)
    ? await withFileLock(join(witnessHome, 'signals'), signals, {
        timeoutMs: 120_000,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      })
    : await signals();
  const record = await readPatrolRecord(townRoot, rig);
  const panes = await livePanes(townRoot); // the patrol's one tmux call for every pane
  const live = {
    has: (session: string): boolean => panes.get(session)?.dead === false,
  };
  const workers: Record<string, WorkerWatch> = {};
  const refs = rigAgents(townRoot, rig).filter((r) => r.role === 'polecat' && r.name !== undefined);
  const presets = new Map<string, AgentPreset | undefined>();
  const presetOf = (agent: string | undefined): AgentPreset | undefined => {
    const key = agent ?? '';
    if (!presets.has(key))
      try {
        presets.set(key, presetFor(townRoot, rig, 'polecat', agent));
      } catch {
        presets.set(key, undefined); // an unknown preset: no blocking prompts to look for
      }
    return presets.get(key);
  };
  // Each polecat's actions land in its own slot, so the report keeps the polecats' order.
  const perWorker: PatrolAction[][] = refs.map(() => []);
  await inBatches([...refs.entries()], PATROL_CONCURRENCY, async ([i, ref]) => {
    const state = await readAgentState(ref.home, 'polecat').catch(() => undefined);
    if (state === undefined || state.active === false) return;
    if (state.state !== 'working' && state.state !== 'stuck') return;
    const w: Worker = {
      townRoot,
      rig,
      name: ref.name ?? '',
      address: ref.address,
      home: ref.home,
      session: state.session ?? '',
      epoch: state.epoch ?? 0,
      issue: state.issue,
    };
    const ctx: WatchContext = {
      t,
      now,
      preset: presetOf(state.agent),
      actions: perWorker[i] ?? [],
      signal: options.signal,
    };
    const prev = record.workers[ref.address];
    // A spawn (or a rework) writes `working` just before it starts the session: a state that
    // fresh without a session is one being started, not a crash.
    const starting =
      state.state === 'working' &&
      !live.has(w.session) &&
      now.getTime() - Date.parse(state.updated_at) < t.crashGraceMs;
    if (starting) {
      if (prev !== undefined) workers[ref.address] = prev;
      return;
    }
    try {
      workers[ref.address] =
        state.state === 'working' && live.has(w.session)
          ? await watchWorker(w, state, prev, panes.get(w.session), ctx)
          : await faulted(w, state, prev, ctx);
    } catch (err) {
      ctx.actions.push({ address: w.address, kind: 'unchecked', detail: errorMessage(err) });
      if (prev !== undefined) workers[ref.address] = prev;
    }
  });
  const actions = [...doneActions, ...perWorker.flat()];
  await updatePatrolRecord(townRoot, rig, (r) => ({
    ...r,
    workers,
    last_patrol_at: now.toISOString(),
  }));
  return { rig, at: now.toISOString(), polecats: refs.length, actions };
}
