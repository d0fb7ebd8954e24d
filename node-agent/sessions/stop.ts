/**
 * Killing sessions: `gt kill <agent>` and the emergency `gt stop --all | --rig`. States are set
 * `stopped` so `gt status` shows it; clones are never touched, but their unsaved work is reported.
 */
import { GtError, errorMessage } from '../../proto/index.js';
import { listRigs, rigAgents, type AgentRef } from '../town/index.js';
import { placeAgent, stamped, townTmux, updateAgentState, workDirOf } from './agent-home.js';
import { unsavedWorkIn } from './clone.js';
import { existsSync } from 'node:fs';
import { agentHomeFiles, agentSession, type AgentState } from '../town/index.js';

export interface StoppedSession {
  address: string;
  session: string;
  killed: boolean;
  dirty: string[];
  clone: string;
  /** Why the clone's unsaved work could not be checked ('' when it was): `dirty` is unknown. */
  unsavedUnknown: string;
}

/** A clone's unsaved work, or why git could not tell: a failed check is never "nothing unsaved". */
async function checkUnsaved(clone: string): Promise<{ dirty: string[]; unsavedUnknown: string }> {
  try {
    return { dirty: await unsavedWorkIn(clone), unsavedUnknown: '' };
  } catch (err) {
    return { dirty: [], unsavedUnknown: errorMessage(err) };
  }
}

/** `stopped`, and no session named any more (it is gone: doctor would call the name a zombie). */
function stoppedState(s: AgentState): AgentState {
  const { session: _s, ...rest } = s;
  return stamped({ ...rest, state: 'stopped' });
}

export async function killAgent(townRoot: string, address: string): Promise<StoppedSession> {
  const place = placeAgent(townRoot, address);
  const killed = await townTmux(townRoot).killSession(place.session);
  await updateAgentState(place.home, place.role, stoppedState);
  const clone = workDirOf(place);
  return {
    address: place.address,
    session: place.session,
    killed,
    ...(await checkUnsaved(clone)),
    clone,
  };
}

export interface StopOptions {
  townRoot: string;
  rig?: string | undefined;
  all?: boolean | undefined;
}

async function stopOne(
  townRoot: string,
  ref: AgentRef,
  live: Set<string>,
): Promise<StoppedSession | undefined> {
  const session = agentSession(ref.home, ref.address);
  const tmux = townTmux(townRoot);
  const killed = live.has(session) ? await tmux.killSession(session) : false;
  const hasState = existsSync(agentHomeFiles(ref.home).state);
  const unsaved =
    ref.role === 'polecat' ? await checkUnsaved(ref.home) : { dirty: [], unsavedUnknown: '' };
  if (!killed && unsaved.dirty.length === 0 && unsaved.unsavedUnknown === '') return undefined;
  if (hasState && killed) await updateAgentState(ref.home, ref.role, stoppedState);
  return { address: ref.address, session, killed, ...unsaved, clone: ref.home };
}

/** Kill every session of the town (or of one rig); report what was killed and unsaved work. */
export async function stopSessions(options: StopOptions): Promise<StoppedSession[]> {
  const { townRoot } = options;
  if (options.all !== true && (options.rig === undefined || options.rig === ''))
    throw new GtError('GT_USAGE', 'say what to stop: --all or --rig <name>');
  const rigs = (await listRigs(townRoot, { satellites: true })).filter(
    (r) => r.present && (options.all === true || r.name === options.rig),
  );
  if (options.all !== true && rigs.length === 0)
    throw new GtError('GT_RIG_NOT_FOUND', `no rig named "${options.rig ?? ''}"`, {
      hint: 'list rigs with `gt rigs`',
    });
  const tmux = townTmux(townRoot);
  const live = new Set((await tmux.listSessions()).map((s) => s.name));
  // A satellite (rig homed elsewhere) holds only its polecats and a witness home.
  const refs: AgentRef[] = rigs.flatMap((r) =>
    rigAgents(townRoot, r.name).filter((a) => r.home_machine === undefined || existsSync(a.home)),
  );
  const stopped: StoppedSession[] = [];
  for (const ref of refs) {
    const s = await stopOne(townRoot, ref, live);
    if (s !== undefined) stopped.push(s);
  }
  if (options.all === true) {
    const mayorSession = 'gt-mayor';
    if (live.has(mayorSession) && (await tmux.killSession(mayorSession)))
      stopped.push({
        address: 'mayor',
        session: mayorSession,
        killed: true,
        dirty: [],
        clone: '',
        unsavedUnknown: '',
      });
  }
  return stopped;
}
