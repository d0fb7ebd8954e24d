// The shapes TmuxServer takes and returns (tmux-server.ts).
export interface TmuxCallOptions {
  signal?: AbortSignal;
  /** Default: the server's defaultTimeoutMs (10 s). */
  timeoutMs?: number;
}

export interface TmuxServerOptions {
  socketPath: string;
  /** The tmux binary. Default `tmux` from PATH. */
  tmuxPath?: string;
  defaultTimeoutMs?: number;
}

export interface NewSessionOptions {
  name: string;
  cwd: string;
  /** The program and its arguments, exec'd directly (never through a shell string). */
  command: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** Window size; default 200x50 (wide panes wrap less). */
  width?: number;
  height?: number;
  /**
   * Keep the pane after its program exits (`remain-on-exit`), set in the same tmux command as
   * the session so even a program that exits at once leaves its last words and exit code to
   * read (`paneExit`). The caller turns it off (`keepAfterExit`) or kills the session.
   */
  keepAfterExit?: boolean;
  /**
   * Names removed from the program's environment (`env -u`), unless `env` sets them: what the
   * tmux server inherited from whoever started it is not always meant for the program.
   */
  unsetEnv?: readonly string[];
}

/** Whether a pane's program has exited, and its exit code then. */
export interface PaneExit {
  dead: boolean;
  /** The exit code of a dead pane (undefined while tmux has not collected it yet). */
  code: number | undefined;
  /** The signal that killed it, when one did. */
  signal?: number;
}

export interface TmuxSessionInfo {
  name: string;
  createdAt: Date;
  lastActivityAt: Date;
  attached: boolean;
  panePid: number;
  /** Name of the program in the foreground of the pane. */
  paneCommand: string;
}

export interface PaneStateInfo {
  panePid: number;
  /** The pane's program has exited (only with remain-on-exit). */
  dead: boolean;
  /** Unix seconds of the window's last activity: output or echoed input. */
  activity: number;
}

export interface CaptureOptions extends TmuxCallOptions {
  /** Also include this many lines of scrollback above the visible screen. Default 0. */
  lines?: number;
}

/** Named keys our own code may send (never user text: that goes through typeText). */
export type TmuxKey =
  | 'Enter'
  | 'Escape'
  | 'Tab'
  | 'BSpace'
  | 'Up'
  | 'Down'
  | 'Left'
  | 'Right'
  | 'C-c'
  | 'C-d'
  | 'C-u'
  | 'C-l';
