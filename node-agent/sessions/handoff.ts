/**
 * Session cycling (`gt handoff`): the agent mails itself a structured handoff note (active work,
 * pending decisions, warnings), its session is restarted fresh with the same preset and epoch,
 * and the new session is primed with the note.
 */
import { GtError } from '../../proto/index.js';
import { Mailbox } from '../mail/index.js';
import {
  placeAgent,
  readAgentState,
  stamped,
  townTmux,
  updateAgentState,
  workDirOf,
  type AgentPlace,
} from './agent-home.js';
import { unsavedWorkIn } from './clone.js';
import { presetFor } from './launch.js';
import { startAndDeliver } from './spawn.js';
import type { AgentState } from '../town/index.js';

export interface HandoffOptions {
  townRoot: string;
  address: string;
  note: string;
  /** The caller's GT_EPOCH; 0 = the current one. */
  epoch: number;
}

export interface HandoffResult {
  address: string;
  session: string;
  mailId: string;
  epoch: number;
}

async function handoffBody(place: AgentPlace, state: AgentState, note: string): Promise<string> {
  const unsaved = await unsavedWorkIn(workDirOf(place)).catch(() => []);
  const work =
    state.issue === undefined
      ? 'none assigned'
      : `${state.issue} on branch ${state.branch ?? '?'} (state ${state.state})`;
  return [
    `## Active work`,
    work,
    `## Note from the previous session`,
    note.trim() === '' ? '(none)' : note.trim(),
    `## Pending decisions`,
    'see the note above',
    `## Warnings`,
    unsaved.length === 0 ? 'none: the clone is clean and pushed' : unsaved.join('\n'),
  ].join('\n');
}

export async function handoff(options: HandoffOptions): Promise<HandoffResult> {
  const place = placeAgent(options.townRoot, options.address);
  const state = await readAgentState(place.home, place.role);
  const epoch = state.epoch ?? 0;
  if (options.epoch !== 0 && state.epoch !== undefined && options.epoch !== state.epoch)
    throw new GtError(
      'GT_CONFLICT',
      `stale signal ignored: handoff from epoch ${options.epoch}, ${place.address} is now epoch ${epoch}`,
      {
        hint: 'an older session of this agent is still running; `gt kill` it',
      },
    );
  const body = await handoffBody(place, state, options.note);
  const mail = await new Mailbox({ home: place.home }).append({
    from: place.address,
    to: place.address,
    subject: `Handoff: ${state.issue ?? place.role}`,
    body,
    type: 'handoff',
    priority: 'high',
    epoch,
  });
  const preset = presetFor(options.townRoot, place.rig, place.role, state.agent);
  const prompt = `Handoff from your previous session (mail ${mail.message.id}, read it again with \`gt mail read ${mail.message.id}\`):\n${body}`;
  await updateAgentState(place.home, place.role, (s) => stamped({ ...s, session: place.session }));
  await startAndDeliver(townTmux(options.townRoot), {
    townRoot: options.townRoot,
    place,
    epoch,
    preset,
    prompt,
  });
  return { address: place.address, session: place.session, mailId: mail.message.id, epoch };
}
