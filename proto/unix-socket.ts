/** Whether something accepts connections on a unix socket (a live server, not a stale file). */
import { connect } from 'node:net';
import { GtError } from './errors.js';

export function socketAnswers(path: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (alive: boolean) => {
      socket.destroy();
      clearTimeout(timer);
      resolve(alive);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A unix socket's path holds at most 107 bytes on Linux (sun_path is 108 with its NUL; macOS
 * allows 103). Node does not refuse a longer one: it silently cuts it, and binds a different
 * file than the one every other program (tmux, sshd, a second gt) looks for.
 */
export const MAX_SOCKET_PATH_BYTES = 107;
/** The longest socket a town has: `<town>/run/coordinator.sock` (tmux.sock, node-agent.sock are shorter). */
export const LONGEST_TOWN_SOCKET = 'run/coordinator.sock';
/** The longest a town's root may be so that its sockets fit. */
export const MAX_TOWN_ROOT_BYTES = MAX_SOCKET_PATH_BYTES - LONGEST_TOWN_SOCKET.length - 1;

export function socketPathFits(path: string): boolean {
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES;
}

/** The error for a socket path over the limit; `fix` says what to do about it. */
export function socketPathTooLong(path: string, fix: string): GtError {
  return new GtError(
    'GT_SOCKET_PATH_TOO_LONG',
    `the unix socket path ${path} is ${Buffer.byteLength(path)} bytes; a unix socket path holds at most ${MAX_SOCKET_PATH_BYTES}`,
    { hint: fix },
  );
}

/** Throw unless `path` fits; the default fix is for a town's own sockets. */
export function checkSocketPath(path: string, fix = townTooLongFix()): void {
  if (!socketPathFits(path)) throw socketPathTooLong(path, fix);
}

/** What to do when a town's root is too long for its sockets. */
export function townTooLongFix(): string {
  return `use a town whose path is at most ${MAX_TOWN_ROOT_BYTES} bytes: move it (or make a short symlink to it, e.g. ln -s <town> /srv/gt) and pass that path with --town or GT_TOWN`;
}

/**
 * Why a town root is too long for its sockets (undefined when it fits): `gt install` and
 * `gt machine add --town-path` refuse such a path up front.
 */
export function townRootProblem(root: string): string | undefined {
  const bytes = Buffer.byteLength(root);
  if (bytes <= MAX_TOWN_ROOT_BYTES) return undefined;
  return `the town path ${root} is ${bytes} bytes: its socket ${LONGEST_TOWN_SOCKET} would be ${bytes + 1 + LONGEST_TOWN_SOCKET.length} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit of a unix socket path (at most ${MAX_TOWN_ROOT_BYTES} bytes for the town path)`;
}
