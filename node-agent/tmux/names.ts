/**
 * Names and quoting for tmux: session names derived from addresses, the single-quote shell
 * escaper, the escaping tmux's own argument parser needs, and chunking of literal text.
 */
import { GtError, parseAddress, type Address } from '../../proto/index.js';

/**
 * A tmux-safe session name: tmux turns '.' and ':' into '_' itself (and ':' and '.' would be
 * read as window/pane separators in targets); we also drop whitespace, '#' (format expansion),
 * and anything outside [A-Za-z0-9_-], so a name is usable unquoted everywhere.
 */
export function sanitizeSessionName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_-]/g, '_');
  if (clean.length === 0) throw new GtError('GT_INVALID_ARGUMENT', 'empty tmux session name');
  return clean;
}

/**
 * One name part of a session name, escaped so that joining parts with '-' is injective: '_'
 * becomes `__`, '.' becomes `_d`, '-' becomes `_-` (any other character outside [A-Za-z0-9],
 * which valid names never contain, becomes `_x<hex>_`). Every '_' starts a two-character escape,
 * so a bare '-' in a session name is always a separator: `a.b`/`a_b` and rig `a-b` + `Nux` /
 * rig `a` + `b-Nux` get different sessions.
 */
export function sessionNamePart(part: string): string {
  let out = '';
  for (const char of part) {
    if (/[A-Za-z0-9]/.test(char)) out += char;
    else if (char === '_') out += '__';
    else if (char === '.') out += '_d';
    else if (char === '-') out += '_-';
    else out += `_x${(char.codePointAt(0) ?? 0).toString(16)}_`;
  }
  if (out.length === 0) throw new GtError('GT_INVALID_ARGUMENT', 'empty tmux session name part');
  return out;
}

/**
 * The session name of an agent: `gt-mayor`, `gt-<rig>-witness`, `gt-<rig>-refinery`,
 * `gt-<rig>-mayor`, `gt-<rig>-<polecat>`, `gt-<rig>-plugin-<name>`, each rig and agent name
 * escaped by sessionNamePart (so `wyvern/Nux` is `gt-wyvern-Nux`, `my-rig/a.b` is
 * `gt-my_-rig-a_db`). The machine part is ignored (each machine has its own tmux server). Distinct
 * addresses always get distinct names. Towns made before the escaping may run sessions under the
 * older sanitised names: an agent's recorded `session` (state.json) is the one to use while it is
 * set (town/agent-session.ts).
 */
export function sessionNameFor(address: Address | string): string {
  const a = typeof address === 'string' ? parseAddress(address) : address;
  switch (a.role) {
    case 'overseer':
      throw new GtError('GT_INVALID_ARGUMENT', 'the overseer is a human: it has no tmux session');
    case 'mayor':
      return a.rig === undefined ? 'gt-mayor' : `gt-${sessionNamePart(a.rig)}-mayor`;
    case 'witness':
    case 'refinery':
      return `gt-${sessionNamePart(a.rig)}-${a.role}`;
    case 'polecat':
      return `gt-${sessionNamePart(a.rig)}-${sessionNamePart(a.name)}`;
    case 'plugin':
      return `gt-${sessionNamePart(a.rig)}-plugin-${sessionNamePart(a.name)}`;
  }
}

/**
 * Quote one argument for a POSIX shell: wrap in single quotes, and write each embedded single
 * quote as `'\''`. Nothing inside single quotes is special to sh, bash, dash or zsh.
 */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A whole argv as one POSIX shell command line (each element quoted). */
export function shellCommandLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/**
 * Protect one argv element from tmux's command parser: an argument ending in ';' ends the
 * tmux command (`send-keys -l -- 'ls;'` would send `ls`), unless written as `\;`, which tmux
 * turns back into `;`. Nothing else in an argument is special when tmux is run with argv.
 */
export function tmuxArg(arg: string): string {
  return arg.endsWith(';') ? `${arg.slice(0, -1)}\\;` : arg;
}

/** Split text into chunks of at most `maxBytes` UTF-8 bytes, on code point boundaries. */
export function chunkText(text: string, maxBytes: number): string[] {
  const chunks: string[] = [];
  let current = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes && current.length > 0) {
      chunks.push(current);
      current = '';
      bytes = 0;
    }
    current += char;
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
