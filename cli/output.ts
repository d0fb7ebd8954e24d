/**
 * The CLI's output module: the only place that writes to stdout/stderr. Data goes to stdout;
 * messages, warnings and errors to stderr. Colours only on a TTY (and never with NO_COLOR).
 */
import { toJson, type DescMessage, type MessageShape } from '@bufbuild/protobuf';

const useColor = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && process.env.NO_COLOR === undefined;

function paint(code: number, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return useColor(stream) ? `\u001b[${code}m${text}\u001b[0m` : text;
}

export const color = {
  red: (t: string, s?: NodeJS.WriteStream) => paint(31, t, s),
  green: (t: string, s?: NodeJS.WriteStream) => paint(32, t, s),
  yellow: (t: string, s?: NodeJS.WriteStream) => paint(33, t, s),
  dim: (t: string, s?: NodeJS.WriteStream) => paint(2, t, s),
  bold: (t: string, s?: NodeJS.WriteStream) => paint(1, t, s),
};

export function out(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Print a value as JSON (stable, 2-space indented). */
export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** A protobuf message as the JSON users see: snake_case field names, every field present. */
export function messageJson<D extends DescMessage>(schema: D, message: MessageShape<D>): unknown {
  return toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit: true });
}

/** An aligned table with a header row. Empty cells print as "-". */
export function table(headers: string[], rows: string[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === '' ? '-' : c)));
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)),
  );
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
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
