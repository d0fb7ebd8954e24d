/**
 * `gt spawn`: validate (rig healthy, issue open and unclaimed, preset known), pick a polecat and
 * a new epoch, claim the issue atomically as that polecat, make its clone and branch, write its
 * home, start the agent in tmux and deliver the assignment. A failure before the agent starts,
 * or an agent that exits before it is ready (its last pane lines are in the error), gives the
 * claim back and leaves the polecat idle; an agent that lives on but does not take its prompt
 * leaves the polecat `stuck` for the witness and doctor.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { GtError, errorMessage, isGtError } from '../../proto/index.js';
import { deliverPrompt, type AgentPreset } from '../agents/index.js';
import { claimIssue, openBeads, updateIssue, type BeadIssue } from '../beads/index.js';
import {
  agentSession,
  ensureSatelliteRig,
  loadTown,
  rigPaths,
  tryReadRigConfig,
  writeAgentHome,
  type RigConfig,
} from '../town/index.js';
import { sessionNameFor, type TmuxServer } from '../tmux/index.js';
import {
  readAgentState,
  requireRig,
  stamped,
  townTmux,
  updateAgentState,
  type AgentPlace,
} from './agent-home.js';
import { assertReusable, preparePolecatClone } from './clone.js';
import { launchSession, presetFor } from './launch.js';
import type { RemoteSpawn } from './remote-spawn.js';
import { pickPolecat } from './polecat-pool.js';
import { liveSessions } from './polecats.js';

export interface SpawnOptions {
  townRoot: string;
  rig: string;
  issue: string;
  name?: string | undefined;
  agent?: string | undefined;
  signal?: AbortSignal | undefined;
  /**
   * The rig is homed on another machine: the coordinator claimed `issue` there and placed the
   * polecat here. The rig's satellite is made (or refreshed), nothing is claimed or given back
   * here (the coordinator gives the claim back when this spawn fails), and the clone comes from
   * the rig's git_url.
   */
  remote?: RemoteSpawn | undefined;
}

export interface SpawnResult {
  rig: string;
  polecat: string;
  address: string;
  session: string;
  issue: string;
  branch: string;
  epoch: number;
  clone: string;
  reused: boolean;
  agent: string;
  /** What was done for the agent that the user should know (e.g. running as root). */
  notes: string[];
  timings: {
    cloneMs: number;
    startMs: number;
    readyWaitMs: number;
    deliverMs: number;
    totalMs: number;
  };
}

/** Branch of an assignment: `polecat/<name>/<issue>`. */
export function assignmentBranch(polecat: string, issue: string): string {
  return `polecat/${polecat}/${issue}`;
}

export async function healthyRig(townRoot: string, rig: string): Promise<RigConfig> {
  await requireRig(townRoot, rig);
  const paths = rigPaths(townRoot, rig);
  const config = await tryReadRigConfig(paths.configJson);
  const broken =
    config === undefined
      ? paths.configJson
      : !existsSync(join(paths.refineryClone, '.git'))
        ? paths.refineryClone
        : !existsSync(paths.beadsDir)
          ? paths.beadsDir
          : undefined;
  if (config === undefined || broken !== undefined)
    throw new GtError(
      'GT_CONFIG_INVALID',
      `rig "${rig}" is not healthy: ${broken ?? ''} is missing or invalid`,
      {
        hint: '`gt doctor` names the problem (its --fix re-creates missing clones and folders; an invalid config.json is fixed by hand), then spawn again',
      },
    );
  return config;
}

/** The issue must exist, be open and be unassigned (DESIGN.md §8: validate before spawning). */
function openIssue(beadsDir: string, id: string): BeadIssue {
  const store = openBeads(beadsDir);
  try {
    const issue = store.requireIssue(id);
    const holder = typeof issue.assignee === 'string' ? issue.assignee : '';
    if (holder !== '')
      throw new GtError('GT_CLAIMED', `${issue.id} is already claimed by ${holder}`, {
        hint: 'pick another issue with `bd ready`',
        details: { id: issue.id, assignee: holder },
      });
    if (issue.status !== 'open')
      throw new GtError(
        'GT_CLAIMED',
        `${issue.id} cannot be assigned: its status is ${issue.status}`,
        {
          hint: 'only open, unassigned issues can be assigned; see `bd ready`',
        },
      );
    return issue;
  } finally {
    store.close();
  }
}

function claimAs(beadsDir: string, id: string, actor: string): void {
  const store = openBeads(beadsDir, actor);
  try {
    claimIssue(store, id, actor);
  } finally {
    store.close();
  }
}

function unclaim(beadsDir: string, id: string): void {
  // A satellite has no tracker: the coordinator gives the claim back on the home machine.
  if (!existsSync(beadsDir)) return;
  const store = openBeads(beadsDir);
  try {
    updateIssue(store, id, { status: 'open', assignee: '' });
  } finally {
    store.close();
  }
}

export function assignmentPrompt(place: AgentPlace, issue: BeadIssue, branch: string): string {
  const description =
    typeof issue.description === 'string' && issue.description.trim() !== ''
      ? issue.description.trim()
      : '(none)';
  return [
    `Issue: ${issue.id}`,
    `Title: ${issue.title}`,
    `Description: ${description}`,
    `You are polecat ${place.name ?? '?'} (${place.address}). Work in this clone (${place.home}) on branch ${branch}.`,
    'Done means: commit your work, push the branch (git push -u origin HEAD), then run `gt done`.',
  ].join('\n');
}

/** Reserve the picked polecat inside the spawn lock (state working / an empty home). */
async function reservePolecat(
  tmux: TmuxServer,
  place: AgentPlace,
  issue: string,
  epoch: number,
): Promise<void> {
  if (!existsSync(place.home)) {
    mkdirSync(place.home, { recursive: true });
    return;
  }
  const state = await readAgentState(place.home, 'polecat');
  const running = state.session ?? place.session;
  if (state.state === 'working' && (await tmux.hasSession(running)))
    throw new GtError(
      'GT_CONFLICT',
      `polecat ${place.address} is working on ${state.issue ?? 'an issue'} (session ${running} is running)`,
      {
        hint: 'spawn without --name to get an idle polecat, or `gt kill` it first',
      },
    );
  await assertReusable(place.address, place.home);
  await updateAgentState(place.home, 'polecat', (s) =>
    stamped({ ...s, state: 'working', issue, epoch }),
  );
}

async function release(
  place: AgentPlace,
  beadsDir: string,
  issue: string,
  claimed: boolean,
): Promise<void> {
  if (claimed) unclaim(beadsDir, issue);
  if (existsSync(place.home) && readdirSync(place.home).length === 0) rmdirSync(place.home);
  else if (existsSync(place.home))
    await updateAgentState(place.home, 'polecat', (s) => stamped({ ...s, state: 'idle' }));
}

interface Assignment {
  townRoot: string;
  rig: string;
  config: RigConfig;
  townName: string;
  place: AgentPlace;
  issue: BeadIssue;
  epoch: number;
  branch: string;
  preset: AgentPreset;
  signal?: AbortSignal | undefined;
  /** False on a satellite: the coordinator claimed the issue on the rig's home. */
  claim: boolean;
}

/** Claim, clone, state `working`, home files. Any failure gives the claim back. Returns `reused`. */
async function prepareAssignment(a: Assignment): Promise<boolean> {
  const paths = rigPaths(a.townRoot, a.rig);
  const { place, issue, branch } = a;
  let claimed = false;
  try {
    if (a.claim) {
      claimAs(paths.beadsDir, issue.id, place.address);
      claimed = true;
    }
    const reused = await preparePolecatClone({
      home: place.home,
      townRoot: a.townRoot,
      refineryClone: paths.refineryClone,
      gitUrl: a.config.git_url,
      defaultBranch: a.config.default_branch ?? 'main',
      branch,
      signal: a.signal,
    });
    // State first (working): a polecat home without state.json is one being spawned.
    await updateAgentState(place.home, 'polecat', (s) =>
      stamped({
        ...s,
        state: 'working',
        issue: issue.id,
        session: place.session,
        epoch: a.epoch,
        branch,
        agent: a.preset.name,
        active: true,
      }),
    );
    await writeAgentHome({
      home: place.home,
      template: 'polecat',
      facts: { town: a.townName, rig: a.rig, name: place.name, prefix: a.config.beads.prefix },
      only: ['claudeMd', 'inbox', 'state'],
    });
    return reused;
  } catch (err) {
    await release(place, paths.beadsDir, issue.id, claimed).catch(() => undefined);
    throw err;
  }
}

/** Where a polecat's new session will run: the name derived from its address (never shared). */
function polecatPlace(townRoot: string, rig: string, name: string): AgentPlace {
  const address = `${rig}/${name}`;
  const home = join(rigPaths(townRoot, rig).polecatsDir, name);
  return { address, role: 'polecat', rig, name, home, session: sessionNameFor(address) };
}

/** The rig's max_polecats as pickPolecat takes it (spawn and resume both count live sessions). */
export function polecatCap(
  config: RigConfig,
  townRoot: string,
  sessionOf: (name: string) => string,
): Parameters<typeof pickPolecat>[5] {
  return config.max_polecats === undefined
    ? undefined
    : { max: config.max_polecats, live: () => liveSessions(townRoot), sessionOf };
}

export async function spawnPolecat(options: SpawnOptions): Promise<SpawnResult> {
  const started = Date.now();
  const { townRoot, rig } = options;
  const remote = options.remote;
  const config =
    remote === undefined
      ? await healthyRig(townRoot, rig)
      : await ensureSatelliteRig({ townRoot, rig, ...remote });
  const town = await loadTown(townRoot);
  const preset = presetFor(townRoot, rig, 'polecat', options.agent);
  const issue = remote?.issue ?? openIssue(rigPaths(townRoot, rig).beadsDir, options.issue);
  const tmux = townTmux(townRoot);
  const placeOf = (name: string): AgentPlace => polecatPlace(townRoot, rig, name);
  // The session an existing polecat runs now: the recorded one (it may predate the naming).
  const runningSession = (name: string): string => {
    const p = placeOf(name);
    return agentSession(p.home, p.address);
  };
  const picked = await pickPolecat(
    townRoot,
    rig,
    options.name,
    (n) => tmux.hasSession(runningSession(n)),
    (p) => reservePolecat(tmux, placeOf(p.name), issue.id, p.epoch),
    polecatCap(config, townRoot, runningSession),
  );
  const place = placeOf(picked.name);
  const branch = assignmentBranch(picked.name, issue.id);
  const cloneStarted = Date.now();
  const reused = await prepareAssignment({
    townRoot,
    rig,
    config,
    townName: town.config.name,
    place,
    issue,
    epoch: picked.epoch,
    branch,
    preset,
    signal: options.signal,
    claim: remote === undefined,
  });
  const cloneMs = Date.now() - cloneStarted;
  const start: StartOptions = {
    townRoot,
    place,
    epoch: picked.epoch,
    preset,
    prompt: assignmentPrompt(place, issue, branch),
    signal: options.signal,
  };
  const { notes, ...rest } = await startAndDeliver(tmux, start).catch(async (err: unknown) => {
    throw await exitedBeforeReady(start, rigPaths(townRoot, rig).beadsDir, issue.id, err);
  });
  return {
    rig,
    polecat: picked.name,
    address: place.address,
    session: place.session,
    issue: issue.id,
    branch,
    epoch: picked.epoch,
    clone: place.home,
    reused,
    agent: preset.name,
    notes,
    timings: { cloneMs, ...rest, totalMs: Date.now() - started },
  };
}

export interface StartOptions {
  townRoot: string;
  place: AgentPlace;
  epoch: number;
  preset: AgentPreset;
  prompt: string;
  signal?: AbortSignal | undefined;
}

/** The agent did not take its prompt: state `stuck` (when the epoch is still ours), and say so. */
async function markStuck(o: StartOptions, err: unknown): Promise<GtError> {
  // A screen a human must answer (GT_AGENT_BLOCKED from the wait): `gt status` names it.
  const prompt =
    isGtError(err) && err.code === 'GT_AGENT_BLOCKED' ? err.details?.prompt : undefined;
  await updateAgentState(o.place.home, o.place.role, (s) => {
    if (s.epoch !== o.epoch) return s;
    const { waiting_for: _old, ...rest } = s;
    return stamped({
      ...rest,
      state: 'stuck',
      ...(typeof prompt === 'string' ? { waiting_for: prompt } : {}),
    });
  }).catch(() => undefined);
  return new GtError(
    'GT_AGENT_BLOCKED',
    `${o.place.address}: the agent did not take its prompt: ${errorMessage(err)}`,
    {
      hint: `look at the session with \`gt capture ${o.place.address}\`; its state is now "stuck"`,
      cause: err,
    },
  );
}

/** Whether `err` (from startAndDeliver) says the agent exited before it was ready. */
function agentExited(err: unknown): GtError | undefined {
  const cause = isGtError(err) ? err.cause : undefined;
  return isGtError(cause) && cause.details?.exited === true ? cause : undefined;
}

/**
 * An agent that exited before it was ready holds nothing: give the claim back and leave the
 * polecat idle (reusable), and say what the agent said. Other failures pass through.
 */
async function exitedBeforeReady(
  o: StartOptions,
  beadsDir: string,
  issue: string,
  err: unknown,
): Promise<unknown> {
  const exited = agentExited(err);
  if (exited === undefined) return err;
  let ours = false;
  await updateAgentState(o.place.home, o.place.role, (s) => {
    ours = s.epoch === o.epoch;
    if (!ours) return s;
    const { issue: _issue, ...rest } = s;
    return stamped({ ...rest, state: 'idle' });
  }).catch(() => undefined);
  if (ours) unclaim(beadsDir, issue);
  return new GtError('GT_AGENT_BLOCKED', `${o.place.address}: ${exited.message}`, {
    hint: `${issue} is open again and ${o.place.address} is idle; ${exited.hint ?? 'fix what the agent says'}`,
    details: { ...exited.details, issue, address: o.place.address },
    cause: exited,
  });
}

/** Wait for the started agent to be ready and type its first prompt; `stuck` on failure. */
export async function deliverFirstPrompt(
  tmux: TmuxServer,
  o: StartOptions,
): Promise<{ readyWaitMs: number; deliverMs: number }> {
  try {
    const delivered = await deliverPrompt(
      tmux,
      o.place.session,
      o.preset,
      o.prompt,
      o.signal === undefined ? {} : { signal: o.signal },
    );
    return { readyWaitMs: delivered.readyWaitMs, deliverMs: delivered.elapsedMs };
  } catch (err) {
    throw await markStuck(o, err);
  }
}

/** Start the session (replacing a leftover one) and deliver the prompt; `stuck` on failure. */
export async function startAndDeliver(
  tmux: TmuxServer,
  o: StartOptions,
): Promise<{ startMs: number; readyWaitMs: number; deliverMs: number; notes: string[] }> {
  const t0 = Date.now();
  let notes: string[];
  try {
    await tmux.killSession(o.place.session);
    notes = await launchSession(tmux, {
      townRoot: o.townRoot,
      place: o.place,
      epoch: o.epoch,
      preset: o.preset,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
  } catch (err) {
    throw await markStuck(o, err);
  }
  const startMs = Date.now() - t0;
  return { startMs, ...(await deliverFirstPrompt(tmux, o)), notes };
}
