/**
 * The health of the town's tmux server, read without ever throwing or hanging: for `gt status`,
 * the tmux-server doctor check, and the doctor's session checks (which step aside when a hung
 * server cannot tell them which sessions are alive).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, socketAnswers } from '../../proto/index.js';
import type { TmuxSessionInfo } from '../tmux/index.js';
import type { DoctorProblem } from '../town/index.js';
import { townTmux } from './agent-home.js';

/**
 * running: answers; none: no socket (never started, or cleaned up); stale: a socket nothing
 * answers on (the server exited or was killed); unresponsive: it accepts but does not reply.
 */
export type TmuxServerState = 'running' | 'none' | 'stale' | 'unresponsive';

export interface TmuxServerHealth {
  state: TmuxServerState;
  socket: string;
  sessions: TmuxSessionInfo[];
  /** Why, for unresponsive. */
  detail: string;
}

export function townTmuxSocket(townRoot: string): string {
  return join(townRoot, 'run', 'tmux.sock');
}

/** The state of the town's tmux server; never throws (for `gt status` and the doctor). */
export async function tmuxServerHealth(
  townRoot: string,
  options: { timeoutMs?: number } = {},
): Promise<TmuxServerHealth> {
  const socket = townTmuxSocket(townRoot);
  const base = { socket, sessions: [], detail: '' };
  // No socket, no tmux server: skip spawning tmux (this is on `gt status`'s hot path).
  if (!existsSync(socket)) return { ...base, state: 'none' };
  try {
    const sessions = await townTmux(townRoot).probe({ timeoutMs: options.timeoutMs ?? 3_000 });
    if (sessions !== undefined) return { ...base, state: 'running', sessions };
    return { ...base, state: (await socketAnswers(socket)) ? 'unresponsive' : 'stale' };
  } catch (err) {
    return { ...base, state: 'unresponsive', detail: errorMessage(err) };
  }
}

/**
 * The sessions of the town's server for a doctor check, or a "skipped" warning when the server
 * does not answer (the tmux-server check reports that once; the others would only time out).
 */
export async function sessionsForCheck(
  townRoot: string,
): Promise<{ sessions: TmuxSessionInfo[] } | { skipped: DoctorProblem }> {
  const health = await tmuxServerHealth(townRoot);
  if (health.state !== 'unresponsive') return { sessions: health.sessions };
  return {
    skipped: {
      status: 'warning',
      message:
        "skipped: the town's tmux server does not answer, so no session can be seen (see tmux-server)",
      hint: 'see the tmux-server finding',
    },
  };
}
