/**
 * Which tmux session is an agent's: the one its state.json records while it names one (a session
 * started under an older naming keeps being found), else the name derived from its address.
 */
import { readFileSync } from 'node:fs';
import type { Address } from '../../proto/index.js';
import { sessionNameFor } from '../tmux/index.js';
import { agentHomeFiles } from './layout.js';

/** The `session` recorded in an agent home's state.json, or undefined (none, unreadable). */
export function recordedSession(home: string): string | undefined {
  try {
    const state = JSON.parse(readFileSync(agentHomeFiles(home).state, 'utf8')) as unknown;
    if (typeof state !== 'object' || state === null || !('session' in state)) return undefined;
    const session = state.session;
    return typeof session === 'string' && session !== '' ? session : undefined;
  } catch {
    return undefined; // no state yet, or a corrupt one (doctor reports that)
  }
}

/** The agent's session: the recorded one, else the derived `sessionNameFor(address)`. */
export function agentSession(home: string, address: Address | string): string {
  return recordedSession(home) ?? sessionNameFor(address);
}
