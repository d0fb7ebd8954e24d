/**
 * TmuxServer: one dedicated tmux server, addressed by its socket path (`tmux -S <path>`), never
 * the user's default server. The town's lives at `<town>/run/tmux.sock`; tests use a socket in
 * a temp dir and kill the server afterwards.
 *
 * Every call runs the tmux client with an argv array (no shell), takes `{signal, timeoutMs}`,
 * and targets sessions exactly (`=name`), because tmux otherwise resolves `-t gt-rig-Nu` to
 * `gt-rig-Nux` by prefix.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  GtError,
  socketPathFits,
  socketPathTooLong,
  townTooLongFix,
  typeableText,
} from '../../proto/index.js';
import { chunkText, tmuxArg } from './names.js';
import {
  runCommand,
  typeText,
  waitForReady,
  type PaneIO,
  type RunCommandOptions,
  type RunCommandResult,
  type TypeTextOptions,
  type TypeTextResult,
  type WaitForReadyOptions,
} from './typing.js';
import type {
  TmuxCallOptions,
  TmuxServerOptions,
  NewSessionOptions,
  PaneExit,
  TmuxSessionInfo,
  PaneStateInfo,
  CaptureOptions,
  TmuxKey,
} from './tmux-types.js';

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const NO_SERVER = /no server running|error connecting to|No such file or directory/;
/** `list-panes -a` on a server that has no session left (one about to exit, say). */
const NO_SESSIONS = /no current target/;

export class TmuxServer implements PaneIO {
  readonly socketPath: string;
  readonly #tmuxPath: string;
  readonly #defaultTimeoutMs: number;

  constructor(options: TmuxServerOptions) {
    this.socketPath = options.socketPath;
    this.#tmuxPath = options.tmuxPath ?? 'tmux';
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  }

  /** The town's server: socket `<town>/run/tmux.sock`. */
  static forTown(
    townRoot: string,
    options: Omit<TmuxServerOptions, 'socketPath'> = {},
  ): TmuxServer {
    return new TmuxServer({ ...options, socketPath: join(townRoot, 'run', 'tmux.sock') });
  }

  /** Run the tmux client; resolves with its exit code (never rejects on a non-zero exit). */
  exec(
    args: readonly string[],
    options: TmuxCallOptions & { input?: string } = {},
  ): Promise<ExecResult> {
    return this.#client(args.map(tmuxArg), options);
  }

  /** Run the tmux client on already escaped words (a bare `;` separates two commands). */
  #client(
    words: readonly string[],
    options: TmuxCallOptions & { input?: string },
  ): Promise<ExecResult> {
    const args = words;
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    const { signal } = options;
    // -u: without a UTF-8 locale (an ssh exec on a bare host has no LANG) tmux writes a tab in
    // a -F format as `_`, and every listing we parse would lose its columns.
    const argv = ['-u', '-S', this.socketPath, ...words];
    // tmux would say only "File name too long": name the limit and the fix.
    if (!socketPathFits(this.socketPath))
      return Promise.reject(socketPathTooLong(this.socketPath, townTooLongFix()));
    const env = clientEnv();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new GtError('GT_CANCELLED', `tmux ${args[0] ?? ''} cancelled`));
        return;
      }
      const child = spawn(this.#tmuxPath, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let failure: GtError | undefined;
      const stop = (err: GtError): void => {
        failure ??= err;
        child.kill('SIGKILL');
        // The client hands its stdio to the server: a hung server keeps our pipes open after the
        // client is dead, and 'close' would never come. Our ends are not needed any more.
        child.stdout.destroy();
        child.stderr.destroy();
      };
      const timer = setTimeout(
        () =>
          stop(
            new GtError(
              'GT_TIMEOUT',
              `tmux ${args[0] ?? ''} did not answer within ${timeoutMs} ms`,
              {
                hint: `is the tmux server on ${this.socketPath} hung? \`gt doctor\` can check it`,
              },
            ),
          ),
        timeoutMs,
      );
      const onAbort = (): void =>
        stop(new GtError('GT_CANCELLED', `tmux ${args[0] ?? ''} cancelled`));
      signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input ?? '');
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      child.on('error', (err) => {
        finish();
        reject(
          new GtError('GT_TMUX_FAILED', `cannot run ${this.#tmuxPath}: ${err.message}`, {
            hint: 'install tmux (3.2 or newer) and make sure it is on PATH',
            cause: err,
          }),
        );
      });
      child.on('close', (code) => {
        finish();
        if (failure !== undefined) reject(failure);
        else resolve({ code: code ?? 1, stdout, stderr });
      });
    });
  }

  /** Run tmux and throw GT_TMUX_FAILED on a non-zero exit. */
  async run(
    args: readonly string[],
    options: TmuxCallOptions & { input?: string } = {},
  ): Promise<string> {
    const result = await this.exec(args, options);
    if (result.code !== 0) {
      throw new GtError(
        'GT_TMUX_FAILED',
        `tmux ${args[0] ?? ''} failed: ${result.stderr.trim() || `exit ${result.code}`}`,
        {
          details: { args: [...args], socket: this.socketPath },
        },
      );
    }
    return result.stdout;
  }

  async newSession(session: NewSessionOptions, options: TmuxCallOptions = {}): Promise<void> {
    if (session.command.length === 0)
      throw new GtError('GT_INVALID_ARGUMENT', `session ${session.name}: the command is empty`);
    if (!existsSync(session.cwd))
      throw new GtError(
        'GT_NOT_FOUND',
        `session ${session.name}: directory ${session.cwd} does not exist`,
      );
    mkdirSync(dirname(this.socketPath), { recursive: true });
    if (await this.hasSession(session.name, options)) {
      throw new GtError('GT_ALREADY_EXISTS', `tmux session ${session.name} already exists`, {
        hint: `kill it first (gt kill) or attach: tmux -S ${this.socketPath} attach -t ${session.name}`,
      });
    }
    const env = Object.entries(session.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const drop = (session.unsetEnv ?? []).filter((k) => session.env?.[k] === undefined);
    const unset = drop.length === 0 ? [] : ['env', ...drop.flatMap((k) => ['-u', k])];
    // Two or more command words make tmux exec them directly instead of through `sh -c`:
    // `sh -c 'exec "$@"' sh argv...` guarantees that even for a one-word command.
    const create = [
      'new-session',
      '-d',
      '-s',
      session.name,
      '-c',
      session.cwd.replace(/#/g, '##'), // -c is format-expanded by tmux
      '-x',
      String(session.width ?? 200),
      '-y',
      String(session.height ?? 50),
      ...env,
      '--',
      ...unset,
      '/bin/sh',
      '-c',
      'exec "$@"',
      'sh',
      ...session.command,
    ].map(tmuxArg);
    // One client call, `;` between the commands: the option is set before tmux can notice the
    // program's exit, however fast it is.
    const keep =
      session.keepAfterExit === true
        ? [';', 'set-option', '-p', '-t', tmuxArg(`=${session.name}:`), 'remain-on-exit', 'on']
        : [];
    const result = await this.#client([...create, ...keep], options);
    // A command that exits at once on a fresh server takes the server down with it, and the
    // client reports "server exited unexpectedly": the session was created and has ended,
    // which callers see as a dead session (waitForReady: "exited before it was ready").
    if (/duplicate session/.test(result.stderr)) {
      // Another process created it between our check and our create.
      throw new GtError('GT_ALREADY_EXISTS', `tmux session ${session.name} already exists`);
    }
    if (result.code !== 0 && !/server exited unexpectedly/.test(result.stderr)) {
      throw new GtError(
        'GT_TMUX_FAILED',
        `tmux new-session ${session.name} failed: ${result.stderr.trim() || `exit ${result.code}`}`,
        { details: { socket: this.socketPath } },
      );
    }
  }

  async hasSession(name: string, options: TmuxCallOptions = {}): Promise<boolean> {
    const result = await this.exec(['has-session', '-t', `=${name}`], options);
    return result.code === 0;
  }

  /** Whether the session's pane has exited (kept by `keepAfterExit`); undefined without a session. */
  async paneExit(name: string, options: TmuxCallOptions = {}): Promise<PaneExit | undefined> {
    const result = await this.exec(
      [
        'display-message',
        '-p',
        '-t',
        `=${name}:`,
        '#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}',
      ],
      options,
    );
    if (result.code !== 0) return undefined;
    const [dead = '0', status = '', signal = ''] = result.stdout.trim().split(':');
    return {
      dead: dead === '1',
      code: status === '' ? undefined : Number(status),
      ...(signal === '' ? {} : { signal: Number(signal) }),
    };
  }

  /** Keep (or stop keeping) the session's pane after its program exits. */
  async keepAfterExit(name: string, keep: boolean, options: TmuxCallOptions = {}): Promise<void> {
    await this.run(
      ['set-option', '-p', '-t', `=${name}:`, 'remain-on-exit', keep ? 'on' : 'off'],
      options,
    );
  }

  /** Kill a session; false when it did not exist (idempotent). */
  async killSession(name: string, options: TmuxCallOptions = {}): Promise<boolean> {
    const result = await this.exec(['kill-session', '-t', `=${name}`], options);
    return result.code === 0;
  }

  async listSessions(options: TmuxCallOptions = {}): Promise<TmuxSessionInfo[]> {
    return (await this.probe(options)) ?? [];
  }

  /** The server's sessions, or undefined when no server answers on the socket. */
  async probe(options: TmuxCallOptions = {}): Promise<TmuxSessionInfo[] | undefined> {
    const format = [
      '#{session_name}',
      '#{session_created}',
      '#{session_activity}',
      '#{session_attached}',
      '#{pane_pid}',
      '#{pane_current_command}',
    ].join('\t');
    const result = await this.exec(['list-sessions', '-F', format], options);
    if (result.code !== 0) {
      if (NO_SERVER.test(result.stderr)) return undefined;
      throw new GtError('GT_TMUX_FAILED', `tmux list-sessions failed: ${result.stderr.trim()}`);
    }
    return result.stdout
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => {
        const [name = '', created = '0', activity = '0', attached = '0', pid = '0', cmd = ''] =
          line.split('\t');
        return {
          name,
          createdAt: new Date(Number(created) * 1000),
          lastActivityAt: new Date(Number(activity) * 1000),
          attached: attached !== '0',
          panePid: Number(pid),
          paneCommand: cmd,
        };
      });
  }

  /**
   * Every pane of the server in one call, by session name (its first pane): pid, dead, and the
   * window's last activity (output, echoed input; whole seconds). Empty when no server answers.
   */
  async paneStates(options: TmuxCallOptions = {}): Promise<Map<string, PaneStateInfo>> {
    const format = ['#{session_name}', '#{pane_pid}', '#{pane_dead}', '#{window_activity}'].join(
      '\t',
    );
    const result = await this.exec(['list-panes', '-a', '-F', format], options);
    if (result.code !== 0) {
      if (NO_SERVER.test(result.stderr) || NO_SESSIONS.test(result.stderr)) return new Map();
      throw new GtError('GT_TMUX_FAILED', `tmux list-panes failed: ${result.stderr.trim()}`);
    }
    const panes = new Map<string, PaneStateInfo>();
    for (const line of result.stdout.split('\n')) {
      if (line.length === 0) continue;
      const [name = '', pid = '0', dead = '0', activity = '0'] = line.split('\t');
      if (!panes.has(name))
        panes.set(name, { panePid: Number(pid), dead: dead === '1', activity: Number(activity) });
    }
    return panes;
  }

  /** The pane's text (wrapped lines joined, trailing blank lines removed). */
  async capturePane(name: string, options: CaptureOptions = {}): Promise<string> {
    const history =
      options.lines !== undefined && options.lines > 0 ? ['-S', `-${options.lines}`] : [];
    const text = await this.run(
      ['capture-pane', '-p', '-J', '-t', `=${name}:`, ...history],
      options,
    );
    return text.replace(/\n+$/, '');
  }

  /** Leave copy mode (a human scrolled back in the pane); true if the pane was in a mode. */
  async leaveCopyMode(name: string, options: TmuxCallOptions = {}): Promise<boolean> {
    const target = ['-t', `=${name}:`];
    const inMode = await this.run(['display-message', '-p', ...target, '#{pane_in_mode}'], options);
    if (inMode.trim() !== '1') return false;
    await this.run(['send-keys', ...target, '-X', 'cancel'], options);
    return true;
  }

  /** Send named keys (our code's own keys; user text goes through sendLiteral/typeText). */
  async sendKeys(
    name: string,
    keys: readonly TmuxKey[],
    options: TmuxCallOptions = {},
  ): Promise<void> {
    await this.run(['send-keys', '-t', `=${name}:`, ...keys], options);
  }

  /**
   * Send text as literal keys (`send-keys -l`), in chunks of at most 4000 bytes (tmux refuses
   * commands over ~16 KB), never splitting a character. Returns the number of chunks. The text
   * is neutralised (typeableText) here too, so no direct caller can type a control key.
   */
  async sendLiteral(name: string, text: string, options: TmuxCallOptions = {}): Promise<number> {
    const chunks = chunkText(typeableText(text), 4000);
    for (const chunk of chunks) {
      await this.run(['send-keys', '-t', `=${name}:`, '-l', '--', chunk], options);
    }
    return chunks.length;
  }

  /**
   * Paste text through a tmux buffer: `load-buffer -` from stdin (no size limit, no argv), then
   * `paste-buffer -p -r -d`: bracketed paste when the program asked for it (so newlines stay
   * inside one prompt), line feeds kept as they are, buffer deleted afterwards. The text is
   * neutralised (typeableText): nothing in it can end the paste or press Enter.
   */
  async pasteText(name: string, text: string, options: TmuxCallOptions = {}): Promise<void> {
    const buffer = `gt-${randomBytes(6).toString('hex')}`;
    await this.run(['load-buffer', '-b', buffer, '-'], { ...options, input: typeableText(text) });
    await this.run(['paste-buffer', '-p', '-r', '-d', '-b', buffer, '-t', `=${name}:`], options);
  }

  typeText(name: string, text: string, options: TypeTextOptions = {}): Promise<TypeTextResult> {
    return typeText(this, name, text, options);
  }

  waitForReady(
    name: string,
    readyPattern: RegExp,
    options: WaitForReadyOptions = {},
  ): Promise<string> {
    return waitForReady(this, name, readyPattern, options);
  }

  runCommand(
    name: string,
    command: string,
    options: RunCommandOptions = {},
  ): Promise<RunCommandResult> {
    return runCommand(this, name, command, options);
  }

  /** The argv a human runs to attach to a session (for `gt attach` / hints). */
  attachArgv(name: string): string[] {
    return [this.#tmuxPath, '-S', this.socketPath, 'attach-session', '-t', `=${name}`];
  }

  /** Kill the whole server (every session on this socket). False if none was running. */
  async killServer(options: TmuxCallOptions = {}): Promise<boolean> {
    const result = await this.exec(['kill-server'], options);
    return result.code === 0;
  }
}

/**
 * The tmux client's environment. A server started by this client inherits it as the global
 * environment of every session, so the identity of whoever started it (a `gt` run inside a
 * polecat's session has GT_ADDRESS, BEADS_DIR, ...) must not leak into other agents' sessions:
 * those are always passed explicitly with `-e`.
 */
function clientEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'TMUX' || key === 'TMUX_PANE' || AGENT_IDENTITY.test(key)) continue;
    env[key] = value;
  }
  return env;
}

const AGENT_IDENTITY = /^(GT_.*|BEADS_DIR|BD_ACTOR|GIT_(AUTHOR|COMMITTER)_(NAME|EMAIL))$/;
