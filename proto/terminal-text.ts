/**
 * Text that came from issues, mail or users, on its way to a terminal: typed into an agent's
 * pane (node-agent/tmux/typing.ts) or printed to the Overseer's (cli/output.ts). Control
 * characters in it must never act (end a bracketed paste, submit a prompt, clear a screen, set a
 * window title); they are shown as visible escapes instead (`\x1b`, `\n`, `\x9b`), so the reader
 * still sees that something was there. Backslashes are left as they are: the escapes are for
 * eyes, not for a parser.
 */

/** C0 controls, DEL and C1 controls (U+0080–U+009F: `\x9b` is a one-character CSI). */
// eslint-disable-next-line no-control-regex -- matching controls is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `\n`, `\r`, `\t`, or `\xNN` for a control character. */
function visibleEscape(ch: string): string {
  return NAMED[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/**
 * Every control character shown as a visible escape, except those in `keep` (e.g. `'\n\t'` for a
 * detail view whose body keeps its lines). Idempotent: the result has no control characters
 * other than the kept ones.
 */
export function visibleControls(text: string, keep = ''): string {
  return text.replace(CONTROL, (ch) => (keep.includes(ch) ? ch : visibleEscape(ch)));
}

/**
 * Text as it may be typed into an agent's pane: line breaks (CRLF, lone CR, LF) become LF, which
 * stays inside the bracketed paste (a CR is Enter, i.e. a submission, and is never typed); tabs
 * stay; every other control character (ESC, so no `ESC[201~` paste terminator; C1 `\x9b`; DEL;
 * C-c) becomes a visible escape. Idempotent.
 */
export function typeableText(text: string): string {
  return visibleControls(text.replace(/\r\n?/g, '\n'), '\n\t');
}
