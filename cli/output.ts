/**
 * The CLI's output module: the only place that writes to stdout/stderr. Data goes to stdout;
 * messages, warnings and errors to stderr. Colours only on a TTY (and never with NO_COLOR).
 *
 * Subjects, bodies, titles and names come from mail, issues and users: a control character in
 * them must never reach the Overseer's terminal (`ESC[2J` clears the screen, a newline breaks a
 * table). Every human line goes through `out`/`err`, which show control characters as visible
 * escapes (proto visibleControls: `\x1b`, `\x07`), keeping only line breaks and tabs; table cells
 * and one-line fields (`oneLine`) show line breaks as `\n` too. Our own colours are written as a
 * per-process token that data cannot contain, and become ESC only on the way out. `printJson`
 * writes the exact text (JSON escapes what it must).
 */
import { randomBytes } from 'node:crypto';
import { toJson, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { visibleControls } from '../proto/index.js';

const useColor = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && process.env.NO_COLOR === undefined;

/** Stands for `ESC [` in our own colour codes until the text is written. */
const SGR = `\uE000${randomBytes(6).toString('hex')}\uE001`;
const SGR_CODE = new RegExp(`${SGR}\\d+m`, 'g');

function paint(code: number, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return useColor(stream) ? `${SGR}${code}m${text}${SGR}0m` : text;
}

export const color = {
  red: (t: string, s?: NodeJS.WriteStream) => paint(31, t, s),
  green: (t: string, s?: NodeJS.WriteStream) => paint(32, t, s),
  yellow: (t: string, s?: NodeJS.WriteStream) => paint(33, t, s),
  dim: (t: string, s?: NodeJS.WriteStream) => paint(2, t, s),
  bold: (t: string, s?: NodeJS.WriteStream) => paint(1, t, s),
};

/** Text as shown on a terminal: controls visible (line breaks and tabs kept), our colours real. */
export function terminalText(text: string): string {
  return visibleControls(text, '\n\t').replaceAll(SGR, '\u001b[');
}

/** A field shown on one line (table cell, header field): every control visible, `\n` included. */
export function oneLine(text: string): string {
  return visibleControls(text);
}

/** Write human text to stdout as is (no newline added), through terminalText. */
export function write(text: string): void {
  process.stdout.write(terminalText(text));
}

export function out(text = ''): void {
  process.stdout.write(`${terminalText(text)}\n`);
}

export function err(text: string): void {
  process.stderr.write(`${terminalText(text)}\n`);
}

/** Print a value as JSON (stable, 2-space indented), the exact text. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A protobuf message as the JSON users see: snake_case field names, every field present. */
export function messageJson<D extends DescMessage>(schema: D, message: MessageShape<D>): unknown {
  return toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit: true });
}

const shownWidth = (cell: string): number => cell.replace(SGR_CODE, '').length;

/**
 * An aligned table with a header row, one line per row whatever the cells hold (oneLine). Empty
 * cells print as "-".
 */
export function table(headers: string[], rows: string[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === '' ? '-' : oneLine(c))));
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => shownWidth(r[i] ?? ''))),
  );
  const pad = (c: string, width: number): string =>
    c + ' '.repeat(Math.max(width - shownWidth(c), 0));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [color.bold(line(headers)), ...cells.map(line)].join('\n');
}

export function statusMark(status: string): string {
  switch (status) {
    case 'ok':
      return color.green('OK   ');
    case 'warning':
      return color.yellow('WARN ');
    default:
      return color.red('ERROR');
  }
}

/**
 * Progress drawing on a terminal (cli/progress.ts): our own cursor controls around text that has
 * already been through `oneLine`. Goes to stderr, only when stderr is a TTY.
 */
export function drawProgress(lines: readonly string[], previousCount: number): void {
  const up = previousCount > 0 ? `\u001b[${previousCount}A` : '';
  const columns = process.stderr.columns ?? 0;
  const cols = columns > 20 ? columns - 1 : 79;
  const body = lines.map((l) => `\r\u001b[2K${oneLine(l).slice(0, cols)}\n`).join('');
  process.stderr.write(`${up}${body}`);
}

/** Whether progress can be drawn in place (stderr is a terminal that understands cursor moves). */
export function progressOnTty(): boolean {
  return process.stderr.isTTY === true && process.env.TERM !== 'dumb';
}
