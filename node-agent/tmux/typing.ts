/**
 * Typing into an agent's pane reliably — the hard part (DESIGN.md §5, §8 "Enter never
 * registered"). The rules:
 *
 * - User text is never interpreted as keys or shell: a single line goes out with
 *   `send-keys -l` (literal) in chunks; text with newlines goes through a tmux buffer and a
 *   bracketed paste (`paste-buffer -p -r`), so a program that enabled bracketed paste (Claude
 *   Code, codex, aider, our test agents) receives the whole text as one prompt, newlines
 *   included, byte for byte. A program that did not enable it sees the lines as typed lines.
 * - Enter is sent separately, after a delay that grows with the text (programs drop an Enter
 *   that arrives while they are still processing a large input), and after the pane shows the
 *   end of the text when it can be seen.
 * - Nothing in the text may act as a key: it is neutralised first (proto typeableText) — CR and
 *   CRLF become LF (inside the paste, never a submission), ESC, C1 and the other controls become
 *   visible escapes, so an issue text holding `ESC[201~` + CR cannot end the paste and submit
 *   its rest as a separate prompt. Every typed text (prompts, `gt inject`, mail and witness
 *   notices, handoff primes, runCommand lines) goes through here.
 * - Delivery is verified: the pane must change after Enter. If it does not, Enter is sent
 *   once more. The result says what happened; it does not pretend.
 */
import { randomBytes } from 'node:crypto';
import { GtError, typeableText } from '../../proto/index.js';
import { shellQuote } from './names.js';

/** What typing needs from a tmux server (TmuxServer implements it). */
export interface PaneIO {
  capturePane(
    name: string,
    options?: { lines?: number; signal?: AbortSignal; timeoutMs?: number },
  ): Promise<string>;
  sendLiteral(
    name: string,
    text: string,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<number>;
  pasteText(
    name: string,
    text: string,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<void>;
  sendKeys(
    name: string,
    keys: readonly 'Enter'[],
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<void>;
  hasSession(
    name: string,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<boolean>;
  /** Leave copy/scroll mode if a human left the pane in it (keys would go to copy mode). */
  leaveCopyMode(
    name: string,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<boolean>;
  /** Whether the pane's program has exited (a pane kept after exit); absent = never kept. */
  paneExit?(
    name: string,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<{ dead: boolean; code: number | undefined; signal?: number } | undefined>;
}

export interface TypeTextOptions {
  /** Press Enter after the text. Default true. */
  enter?: boolean;
  /** Check the pane changed after Enter, and retry Enter once if not. Default true. */
  verify?: boolean;
  /** How long to wait for the pane to change after Enter. Default 2000 ms. */
  verifyTimeoutMs?: number;
  /** Force a method; default: `paste` when the text has a line break, else `keys`. */
  method?: 'keys' | 'paste';
  signal?: AbortSignal;
  /** Per tmux call. */
  timeoutMs?: number;
}

export interface TypeTextResult {
  method: 'keys' | 'paste';
  /** Number of send-keys calls (1 for a paste). */
  chunks: number;
  /** The pane showed the end of the text before Enter was sent. */
  echoSeen: boolean;
  enterSent: boolean;
  /** Enter had to be sent a second time. */
  enterRetried: boolean;
  /** The pane changed after Enter (false when verify was off or nothing changed). */
  verified: boolean;
  /** The pre-Enter delay that was applied. */
  enterDelayMs: number;
  elapsedMs: number;
}

const POLL_MS = 25;

/** Delay before Enter: 60 ms, plus 40 ms per started KiB, at most 1.5 s. */
export function enterDelayFor(text: string): number {
  const kib = Math.ceil(Buffer.byteLength(text) / 1024);
  return Math.min(60 + 40 * kib, 1500);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new GtError('GT_CANCELLED', 'typing cancelled'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new GtError('GT_CANCELLED', 'typing cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const squash = (s: string): string => s.replace(/\s+/g, '');

/** The last few visible characters of the text, whitespace removed (wrapping-proof). */
function tailOf(text: string): string {
  return [...squash(text)].slice(-12).join('');
}

async function pollUntil(
  deadline: number,
  check: () => Promise<boolean>,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS, signal);
  }
}

export async function typeText(
  pane: PaneIO,
  name: string,
  rawText: string,
  options: TypeTextOptions = {},
): Promise<TypeTextResult> {
  const started = Date.now();
  const text = typeableText(rawText);
  const call = { signal: options.signal, timeoutMs: options.timeoutMs };
  const method = options.method ?? (/[\r\n]/.test(text) ? 'paste' : 'keys');
  await pane.leaveCopyMode(name, call);
  const before = await pane.capturePane(name, call);
  let chunks = 1;
  if (method === 'paste') await pane.pasteText(name, text, call);
  else chunks = await pane.sendLiteral(name, text, call);
  const sentAt = Date.now();
  const enterDelayMs = enterDelayFor(text);
  const tail = tailOf(text);
  // Wait for the echo: the pane changed and shows the end of the text (bounded; some
  // programs fold pastes into "[Pasted text]", so an unseen echo is not an error).
  const echoSeen =
    tail !== '' &&
    (await pollUntil(
      sentAt + Math.max(enterDelayMs * 3, 1000),
      async () => {
        const now = await pane.capturePane(name, call);
        return now !== before && squash(now).includes(tail);
      },
      options.signal,
    ));
  const result: TypeTextResult = {
    method,
    chunks,
    echoSeen,
    enterSent: false,
    enterRetried: false,
    verified: false,
    enterDelayMs,
    elapsedMs: 0,
  };
  if (options.enter === false) return { ...result, elapsedMs: Date.now() - started };
  const remaining = sentAt + enterDelayMs - Date.now();
  if (remaining > 0) await sleep(remaining, options.signal);
  const typed = await pane.capturePane(name, call);
  await pane.sendKeys(name, ['Enter'], call);
  result.enterSent = true;
  if (options.verify === false) return { ...result, elapsedMs: Date.now() - started };
  const verifyMs = options.verifyTimeoutMs ?? 2000;
  // A session gone after Enter took the text (the program read it and exited): that is a
  // change too, and what happens to the agent next is for its watchers, not the typist.
  const changed = async (): Promise<boolean> => {
    try {
      return (await pane.capturePane(name, call)) !== typed;
    } catch (err) {
      if (!(await pane.hasSession(name, call).catch(() => false))) return true;
      throw err;
    }
  };
  result.verified = await pollUntil(Date.now() + verifyMs, changed, options.signal);
  if (!result.verified && (await pane.hasSession(name, call))) {
    await pane.sendKeys(name, ['Enter'], call);
    result.enterRetried = true;
    result.verified = await pollUntil(Date.now() + verifyMs, changed, options.signal);
  }
  return { ...result, elapsedMs: Date.now() - started };
}

export interface BlockingPrompt {
  /** Short name shown to users, e.g. "trust this folder". */
  name: string;
  pattern: RegExp;
  /**
   * A screen the agent does not come back from (offline, say): the start fails as if the agent
   * had exited, with its last pane lines, instead of "waiting for input".
   */
  fatal?: boolean;
}

export interface WaitForReadyOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  pollMs?: number;
  /** Prompts that mean "waiting for input": fail fast with GT_AGENT_BLOCKED. */
  blocking?: readonly BlockingPrompt[];
  signal?: AbortSignal;
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}

/** Lines of the pane an "exited before it was ready" error shows. */
export const EXIT_PANE_LINES = 12;

/**
 * The blocking prompt the pane shows, or undefined. When several match (an answered prompt can
 * stay on the screen above the next one), the one lowest on the screen is the current one.
 */
export function currentPrompt<T extends BlockingPrompt>(
  prompts: readonly T[],
  text: string,
): T | undefined {
  let best: { prompt: T; at: number } | undefined;
  for (const prompt of prompts) {
    const flags = prompt.pattern.flags.replace('g', '');
    const re = new RegExp(prompt.pattern.source, `${flags}g`);
    let at = -1;
    for (const m of text.matchAll(re)) at = m.index;
    if (at >= 0 && (best === undefined || at > best.at)) best = { prompt, at };
  }
  return best?.prompt;
}

/**
 * Poll the pane until `readyPattern` matches; returns the pane text at that moment. A blocking
 * prompt on the screen wins over the ready pattern (an agent can draw its input box under a
 * "not logged in" notice), and a kept pane whose program exited fails at once with its last
 * lines and exit code.
 */
export async function waitForReady(
  pane: PaneIO,
  name: string,
  readyPattern: RegExp,
  options: WaitForReadyOptions = {},
): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const call = { signal: options.signal };
  let text = '';
  for (;;) {
    if (!(await pane.hasSession(name, call))) {
      throw new GtError('GT_TMUX_FAILED', `session ${name} exited before it was ready`, {
        hint: 'the agent command failed to start or crashed; check its command in the preset',
        details: { lastPane: lastLines(text, EXIT_PANE_LINES), exited: true },
      });
    }
    let exit = await pane.paneExit?.(name, call);
    // The pane reads as dead when its output ends, a moment before tmux has the exit status.
    for (
      let i = 0;
      i < 60 && exit?.dead === true && exit.code === undefined && exit.signal === undefined;
      i++
    ) {
      await sleep(50, options.signal);
      exit = await pane.paneExit?.(name, call);
    }
    text = await pane.capturePane(name, call);
    if (exit?.dead === true) {
      // tmux's own last line, "Pane is dead (status 3, <date>)", has the status too.
      const said = /\n*Pane is dead \((?:status (\d+)|signal (\d+))?.*\)\s*$/.exec(text);
      if (said !== null && exit.code === undefined && exit.signal === undefined) {
        if (said[1] !== undefined) exit = { ...exit, code: Number(said[1]) };
        else if (said[2] !== undefined) exit = { ...exit, signal: Number(said[2]) };
      }
      const tail = lastLines(
        (said === null ? text : text.slice(0, said.index)).trimEnd(),
        EXIT_PANE_LINES,
      );
      const code =
        exit.code !== undefined
          ? `exit code ${exit.code}`
          : exit.signal !== undefined
            ? `killed by signal ${exit.signal}`
            : 'exit status unknown';
      throw new GtError(
        'GT_TMUX_FAILED',
        `session ${name}: the agent exited (${code}) before it was ready; last lines of its pane:\n${tail}`,
        {
          hint: 'the agent says why above; fix that (log in, network, permissions), then spawn again',
          details: {
            lastPane: tail,
            exited: true,
            ...(exit.code === undefined ? {} : { exitCode: exit.code }),
          },
        },
      );
    }
    const blocked =
      options.blocking === undefined ? undefined : currentPrompt(options.blocking, text);
    if (blocked?.fatal === true) {
      const tail = lastLines(text.trimEnd(), EXIT_PANE_LINES);
      throw new GtError(
        'GT_TMUX_FAILED',
        `session ${name}: the agent stopped at "${blocked.name}" before it was ready; last lines of its pane:\n${tail}`,
        {
          hint: 'the agent says why above; fix that (log in, network, permissions), then spawn again',
          details: { lastPane: tail, exited: true, prompt: blocked.name },
        },
      );
    }
    if (blocked !== undefined) {
      throw new GtError(
        'GT_AGENT_BLOCKED',
        `session ${name} is waiting for input: ${blocked.name}`,
        {
          hint: `attach and answer it, or configure the preset to answer it`,
          details: { prompt: blocked.name, lastPane: lastLines(text, 10) },
        },
      );
    }
    if (readyPattern.test(text)) return text;
    if (Date.now() >= deadline) {
      throw new GtError(
        'GT_TIMEOUT',
        `session ${name} did not become ready within ${timeoutMs} ms (waiting for ${String(readyPattern)}); last lines of the pane:\n${lastLines(text, 10)}`,
        {
          hint: 'the agent may be slow to start, stuck, or its preset readyPattern may not match its UI',
          details: { lastPane: lastLines(text, 10) },
        },
      );
    }
    await sleep(options.pollMs ?? 100, options.signal);
  }
}

export interface RunCommandOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  /** Scrollback searched for the output. Default 5000 lines. */
  historyLines?: number;
  signal?: AbortSignal;
}

export interface RunCommandResult {
  output: string;
  exitCode: number;
}

/**
 * Run a shell command in a session whose pane is a POSIX shell at its prompt, and return its
 * output: the command is typed as `printf <begin>; eval '<cmd>'; printf <end> $?`, and the
 * output is read from the pane between the markers. The markers are printed from two words,
 * so the echo of the typed line never matches them.
 */
export async function runCommand(
  pane: PaneIO,
  name: string,
  command: string,
  options: RunCommandOptions = {},
): Promise<RunCommandResult> {
  const nonce = randomBytes(6).toString('hex');
  const begin = `__GT_BEGIN_${nonce}`;
  const end = `__GT_END_${nonce}`;
  const line = `printf '%s%s\\n' __GT_BEGIN_ ${nonce}; eval ${shellQuote(command)}; printf '%s%s:%s\\n' __GT_END_ ${nonce} "$?"`;
  await typeText(pane, name, line, { signal: options.signal, verify: false });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const endRe = new RegExp(`^${end}:(\\d+)$`, 'm');
  for (;;) {
    const text = await pane.capturePane(name, {
      lines: options.historyLines ?? 5000,
      signal: options.signal,
    });
    const match = endRe.exec(text);
    if (match !== null) {
      const lines = text.slice(0, match.index).split('\n');
      const start = lines.lastIndexOf(begin);
      const output = start === -1 ? lines.join('\n') : lines.slice(start + 1).join('\n');
      return { output: output.replace(/\n$/, ''), exitCode: Number(match[1]) };
    }
    if (Date.now() >= deadline) {
      throw new GtError(
        'GT_TIMEOUT',
        `command in session ${name} did not finish within ${timeoutMs} ms`,
        {
          hint: 'it may still be running in the session; look with `gt capture`',
        },
      );
    }
    await sleep(100, options.signal);
  }
}
