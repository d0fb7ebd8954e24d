/**
 * Starting an agent in its tmux session and delivering a prompt to it, as its preset says:
 * wait until it is ready (answering the blocking prompts the preset marks safe, each at most
 * once), then type the prompt with the tmux driver's verified typing.
 */
import { GtError, isGtError } from '../../proto/index.js';
import type { TmuxServer, TypeTextResult } from '../tmux/index.js';
import type { AgentBlockingPrompt, AgentPreset } from './presets.js';

export interface StartAgentOptions {
  session: string;
  cwd: string;
  /** The agent env of DESIGN.md §5 (GT_TOWN, GT_ROLE, GT_ADDRESS, BEADS_DIR, ...). */
  env: Readonly<Record<string, string>>;
  preset: AgentPreset;
  signal?: AbortSignal;
}

/**
 * Set by CI runners, inherited by the town's tmux server when gt runs there: agent CLIs read them
 * as "no terminal here" (Gemini CLI then runs headless and exits). An agent's session is a
 * terminal, so they are removed from its environment (a preset's own env may set them again).
 */
export const NOT_FOR_AGENTS: readonly string[] = ['CI', 'CONTINUOUS_INTEGRATION', 'GITHUB_ACTIONS'];

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
      unsetEnv: NOT_FOR_AGENTS,
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
      if (prompt === undefined || !(await answerPrompt(server, session, prompt, options.signal)))
        throw err;
      answered.push(prompt.name);
    }
  }
  return { readyWaitMs: Date.now() - started, answered };
}

/** A selection marker at the start of a menu line (Claude ❯, Codex ›, Gemini ●, others ▶ >). */
const MARKER = /^\s*(?:[│|]\s*)?[❯›●▶>]\s/;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Poll the pane until `done(text)` holds or `ms` pass; returns the last capture ('' once the
 * session is gone).
 */
async function paneUntil(
  server: Pick<TmuxServer, 'capturePane'>,
  session: string,
  ms: number,
  done: (text: string) => boolean,
  signal?: AbortSignal,
): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await server
      .capturePane(session, signal === undefined ? {} : { signal })
      .catch(() => '');
    if (text === '' || done(text) || Date.now() >= deadline) return text;
    await pause(100);
  }
}

/**
 * Answer a blocking prompt the preset marks safe, and check on the pane that the answer took:
 * agents that draw a screen before they read their input drop keys sent too early, so a key that
 * changed nothing is sent again. A `choose` prompt moves the selection marker onto its line
 * (Up/Down, each key checked) and presses Enter; an `answer` prompt sends its keys, again if the
 * pane did not change. Returns false when the prompt cannot be answered (a human must, or the
 * marker never reached the line): the caller reports "waiting for input".
 */
export async function answerPrompt(
  server: Pick<TmuxServer, 'capturePane' | 'sendKeys'>,
  session: string,
  prompt: AgentBlockingPrompt,
  signal?: AbortSignal,
): Promise<boolean> {
  const call = signal === undefined ? {} : { signal };
  const showing = (text: string): boolean => prompt.pattern.test(text);
  if (prompt.choose === undefined) {
    if (prompt.answer === undefined) return false;
    let before = await paneUntil(server, session, 0, () => true, signal);
    for (let attempt = 0; attempt < 3 && showing(before); attempt++) {
      await server.sendKeys(session, prompt.answer, call);
      const after = await paneUntil(server, session, 2_000, (t) => t !== before, signal);
      if (after !== before) return true;
      before = after;
    }
    return !showing(before);
  }
  const choose = prompt.choose;
  for (let step = 0; step < 12; step++) {
    const text = await paneUntil(server, session, 0, () => true, signal);
    if (!showing(text)) return true;
    const lines = text.split('\n');
    const target = lines.findIndex((l) => choose.test(l));
    const marks = lines.flatMap((l, i) => (MARKER.test(l) ? [i] : []));
    if (target < 0 || marks.length === 0) {
      await pause(300); // the menu is still being drawn
      continue;
    }
    const marked = marks.reduce((a, b) => (Math.abs(b - target) < Math.abs(a - target) ? b : a));
    const key = marked === target ? 'Enter' : marked < target ? 'Down' : 'Up';
    await server.sendKeys(session, [key], call);
    // Enter: wait for the screen to go; a move: for the marker to move. A dropped key is resent.
    await paneUntil(server, session, key === 'Enter' ? 2_000 : 1_000, (t) => t !== text, signal);
  }
  return !showing(await paneUntil(server, session, 0, () => true, signal));
}
