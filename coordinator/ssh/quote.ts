/**
 * The one way a remote command is built: an argv array, each element quoted for the remote
 * POSIX shell that sshd hands the command string to. No remote command is ever assembled from
 * user text by string concatenation; call sites pass argv and this function does the rest.
 */

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one argument for a POSIX shell: safe words as they are, everything else in '…'. */
export function quoteArg(arg: string): string {
  if (arg.includes('\0'))
    throw new TypeError('a remote command argument cannot contain a NUL byte');
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command string for ssh exec: every element of argv quoted, joined by spaces. */
export function remoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('a remote command needs at least the program');
  return argv.map(quoteArg).join(' ');
}
