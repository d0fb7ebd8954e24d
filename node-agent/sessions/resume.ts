/**
 * Resuming a stopped polecat: `gt kill` / `gt stop` leave a polecat `stopped` with its issue still
 * claimed, its clone and its branch. `gt spawn <rig> --issue <id>` for such an issue starts the
 * same polecat again in the same clone on the same branch (nothing re-cloned or re-branched, so
 * its work is kept) with a new epoch; `gt release` (release.ts) gives the issue back instead.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GtError, parseAddress } from '../../proto/index.js';
import { openBeads, type BeadIssue } from '../beads/index.js';
import { agentSession, rigPaths } from '../town/index.js';
import { sessionNameFor } from '../tmux/index.js';
import {
  readAgentState,
  requireRig,
  stamped,
  townTmux,
  updateAgentState,
  type AgentPlace,
} from './agent-home.js';
import { presetFor } from './launch.js';
import { pickPolecat } from './polecat-pool.js';
import {
  assignmentBranch,
  assignmentPrompt,
  healthyRig,
  polecatCap,
  spawnPolecat,
  startAndDeliver,
  type SpawnOptions,
  type SpawnResult,
} from './spawn.js';

/** The polecat of `rig` that holds `issue` while stopped (claim and state agree), if any. */
export async function stoppedHolder(
  townRoot: string,
  rig: string,
  issue: BeadIssue,
): Promise<string | undefined> {
  if (issue.status !== 'in_progress' || typeof issue.assignee !== 'string') return undefined;
  let name: string;
  try {
    const a = parseAddress(issue.assignee);
    if (a.role !== 'polecat' || a.rig !== rig || a.machine !== undefined) return undefined;
    name = a.name;
  } catch {
    return undefined;
  }
  const home = join(rigPaths(townRoot, rig).polecatsDir, name);
  if (!existsSync(join(home, '.git'))) return undefined;
  const state = await readAgentState(home, 'polecat').catch(() => undefined);
  return state?.state === 'stopped' && state.issue === issue.id ? name : undefined;
}

function readIssue(townRoot: string, rig: string, id: string): BeadIssue {
  const store = openBeads(rigPaths(townRoot, rig).beadsDir);
  try {
    return store.requireIssue(id);
  } finally {
    store.close();
  }
}

const RESUME_NOTE =
  'Resumed: this clone and branch keep the work of your earlier session on this issue; look at `git status` and `git log` before going on.';

/** `gt spawn`: resume the stopped polecat holding the issue, else spawn as usual. */
export async function spawnOrResume(options: SpawnOptions): Promise<SpawnResult> {
  const { townRoot, rig } = options;
  // Placed here by the coordinator for a rig homed elsewhere: its claim was made there.
  if (options.remote !== undefined) return spawnPolecat(options);
  await requireRig(townRoot, rig);
  const issue = readIssue(townRoot, rig, options.issue);
  const holder = await stoppedHolder(townRoot, rig, issue);
  if (holder === undefined) return spawnPolecat(options);
  if (options.name !== undefined && options.name !== '' && options.name !== holder)
    throw new GtError('GT_CLAIMED', `${issue.id} is held by ${rig}/${holder}, which is stopped`, {
      hint: `resume it with \`gt spawn ${rig} --issue ${issue.id}\` (no --name), or give the issue back with \`gt release ${rig}/${holder}\``,
    });
  return resumePolecat(options, issue, holder);
}

async function resumePolecat(
  options: SpawnOptions,
  issue: BeadIssue,
  name: string,
): Promise<SpawnResult> {
  const started = Date.now();
  const { townRoot, rig } = options;
  const address = `${rig}/${name}`;
  const home = join(rigPaths(townRoot, rig).polecatsDir, name);
  const previous = await readAgentState(home, 'polecat');
  // The same program as before unless --agent says otherwise.
  const agent =
    options.agent === undefined || options.agent === '' ? previous.agent : options.agent;
  const preset = presetFor(townRoot, rig, 'polecat', agent);
  const branch = previous.branch ?? assignmentBranch(name, issue.id);
  const place: AgentPlace = {
    address,
    role: 'polecat',
    rig,
    name,
    home,
    session: sessionNameFor(address),
  };
  const tmux = townTmux(townRoot);
  const config = await healthyRig(townRoot, rig);
  const picked = await pickPolecat(
    townRoot,
    rig,
    name,
    () => Promise.resolve(false),
    ({ epoch }) =>
      updateAgentState(home, 'polecat', async (s) => {
        if (s.state !== 'stopped' || s.issue !== issue.id || (await tmux.hasSession(place.session)))
          throw new GtError('GT_CONFLICT', `${address} is no longer stopped on ${issue.id}`, {
            hint: `see \`gt polecats ${rig}\``,
          });
        return stamped({
          ...s,
          state: 'working',
          session: place.session,
          epoch,
          branch,
          agent: preset.name,
          active: true,
        });
      }).then(() => undefined),
    polecatCap(config, townRoot, (n) => {
      const h = join(rigPaths(townRoot, rig).polecatsDir, n);
      return agentSession(h, `${rig}/${n}`);
    }),
  );
  const { notes, ...timings } = await startAndDeliver(tmux, {
    townRoot,
    place,
    epoch: picked.epoch,
    preset,
    prompt: `${assignmentPrompt(place, issue, branch)}\n${RESUME_NOTE}`,
    signal: options.signal,
  });
  return {
    rig,
    polecat: name,
    address,
    session: place.session,
    issue: issue.id,
    branch,
    epoch: picked.epoch,
    clone: home,
    reused: true,
    agent: preset.name,
    notes,
    timings: { cloneMs: 0, ...timings, totalMs: Date.now() - started },
  };
}
