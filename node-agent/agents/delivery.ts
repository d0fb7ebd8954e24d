/**
 * Starting an agent in its tmux session and delivering a prompt to it, as its preset says:
 * wait until it is ready (answering the blocking prompts the preset marks safe, each at most
 * once), then type the prompt with the tmux driver's verified typing.
 */
import { GtError, isGtError } from '../../proto/index.js';
import type { TmuxServer, TypeTextResult } from '../tmux/index.js';
import type { AgentPreset } from './presets.js';

export interface StartAgentOptions {
  session: string;
  cwd: string;
  /** The agent env of DESIGN.md §5 (GT_TOWN, GT_ROLE, GT_ADDRESS, BEADS_DIR, ...). */
  env: Readonly<Record<string, string>>;
  preset: AgentPreset;
  signal?: AbortSignal;
}

/**
 * Start the preset's command in a new session (preset env first, the agent env wins). The pane
 * is kept if the agent exits, until `deliverPrompt` has seen it ready (or read why it exited).
 */
export async function startAgent(server: TmuxServer, options: StartAgentOptions): Promise<void> {
  await server.newSession(
    {
      name: options.session,
      cwd: options.cwd,
      command: options.preset.command,
      env: { ...options.preset.env, ...options.env },
      keepAfterExit: true,
    },
    options.signal === undefined ? {} : { signal: options.signal },
  );
}

export interface DeliverPromptOptions {
  /** Default: the preset's readyTimeoutMs. */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface DeliverPromptResult extends TypeTextResult {
  /** Time spent waiting for the agent to be ready (excluded from typing time). */
  readyWaitMs: number;
  /** Blocking prompts answered automatically on the way. */
  answered: string[];
}

/**
 * Wait for the agent to be ready, then type `text` and press Enter. Throws GT_AGENT_BLOCKED
 * (a prompt a human must answer: `gt status` shows "waiting for input"), GT_TIMEOUT, or
 * GT_TMUX_FAILED when the session died (`details.exited`; an agent that exited has its last
 * pane lines in the message, and its kept pane is closed).
 */
export async function deliverPrompt(
  server: TmuxServer,
  session: string,
  preset: AgentPreset,
  text: string,
  options: DeliverPromptOptions = {},
): Promise<DeliverPromptResult> {
  const call = options.signal === undefined ? {} : { signal: options.signal };
  let waited: { readyWaitMs: number; answered: string[] };
  try {
    waited = await waitUntilReady(server, session, preset, options);
  } catch (err) {
    // An exited agent's pane was read into the error: close it. Otherwise the agent lives on
    // (at a prompt, or slow): from now on its exit ends its session, as for any agent.
    const exited = isGtError(err) && err.details?.exited === true;
    await (
      exited ? server.killSession(session, call) : server.keepAfterExit(session, false, call)
    ).catch(() => undefined);
    throw err;
  }
  await server.keepAfterExit(session, false, call);
  const typed = await server.typeText(session, text, call);
  if (!typed.verified) {
    throw new GtError('GT_TMUX_FAILED', `the prompt typed into ${session} was not acknowledged`, {
      hint: 'Enter was sent twice and the pane did not change; look at it with `gt capture`',
      details: { ...typed },
    });
  }
  return { ...typed, ...waited };
}

async function waitUntilReady(
  server: TmuxServer,
  session: string,
  preset: AgentPreset,
  options: DeliverPromptOptions,
): Promise<{ readyWaitMs: number; answered: string[] }> {
  const started = Date.now();
  const deadline = started + (options.readyTimeoutMs ?? preset.readyTimeoutMs);
  const answered: string[] = [];
  for (;;) {
    const blocking = preset.blockingPrompts.filter((b) => !answered.includes(b.name));
    try {
      await server.waitForReady(session, preset.readyPattern, {
        timeoutMs: Math.max(deadline - Date.now(), 0),
        blocking,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      break;
    } catch (err) {
      if (!isGtError(err) || err.code !== 'GT_AGENT_BLOCKED') throw err;
      const prompt = blocking.find((b) => b.name === err.details?.prompt);
      if (prompt?.answer === undefined) throw err;
      await server.sendKeys(session, prompt.answer);
      answered.push(prompt.name);
    }
  }
  return { readyWaitMs: Date.now() - started, answered };
}
