/**
 * Uploading files to a machine in one exec channel: a ustar archive streamed into GNU `tar -x`
 * (part of every Debian/Ubuntu base system), honouring the channel's backpressure and reporting
 * the bytes sent, then the sha256 of every file in the same remote command. One round trip for
 * the whole upload and its checksums: each exec costs tens of milliseconds with sshd.
 */
import { GtError } from '../../proto/index.js';
import type { SshConnection } from './connection.js';

export interface UploadFile {
  /** Relative path inside the target directory (no `..`). */
  path: string;
  data: Buffer;
  mode: number;
}

const BLOCK = 512;
const CHUNK = 256 * 1024;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header block (paths up to 255 characters: name + prefix). */
export function tarHeader(path: string, size: number, mode: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = path.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100)
      throw new TypeError(`path too long for the archive: ${path}`);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  h.write(name, 0, 100);
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** The archive as a list of buffers (headers, data, padding, end blocks); no copy of the data. */
export function tarParts(files: readonly UploadFile[]): Buffer[] {
  const parts: Buffer[] = [];
  for (const f of files) {
    if (f.path.startsWith('/') || f.path.split('/').includes('..'))
      throw new TypeError(`bad archive path: ${f.path}`);
    parts.push(tarHeader(f.path, f.data.length, f.mode), f.data);
    const pad = (BLOCK - (f.data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return parts;
}

// $1 = target dir (emptied first), $2… = the files to hash once tar has written them (from the
// page cache: one process for all files). OpenSSL (installed with ca-certificates) hashes ~3x
// faster than coreutils' sha256sum where the CPU has SHA extensions; sha256sum where it is
// missing. Hashing each file as tar writes it (--to-command) cost a shell, tee and a hasher per
// file: slower here than reading them back.
export const EXTRACT = `d=$1; shift
rm -rf "$d" && mkdir -p "$d" && cd "$d" && tar -x -f - --no-same-owner || exit 5
if command -v openssl >/dev/null; then exec openssl dgst -sha256 -r -- "$@"; fi
exec sha256sum -- "$@"`;

export interface UploadOptions {
  conn: SshConnection;
  /** Directory on the machine (created, emptied first). */
  dir: string;
  files: readonly UploadFile[];
  onBytes?: (sent: number, total: number) => void;
  timeoutMs?: number;
}

/** Upload into `dir` and return each file's sha256 as the machine computed it. */
export async function uploadFiles(options: UploadOptions): Promise<Map<string, string>> {
  const { conn, dir, files } = options;
  const parts = tarParts(files);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const channel = await conn.openExec([
    'sh',
    '-c',
    EXTRACT,
    'sh',
    dir,
    ...files.map((f) => f.path),
  ]);
  const out: Buffer[] = [];
  let stderr = '';
  let code: number | null = null;
  channel.on('data', (b: Buffer) => out.push(b));
  channel.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  channel.on('exit', (c: number | null) => (code = c));
  const closed = new Promise<void>((resolve, reject) => {
    channel.once('close', () => resolve());
    channel.once('error', reject);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    channel.close();
  }, options.timeoutMs ?? 600_000);
  try {
    let sent = 0;
    send: for (const part of parts) {
      for (let at = 0; at < part.length; at += CHUNK) {
        const chunk = part.subarray(at, Math.min(at + CHUNK, part.length));
        if (!channel.write(chunk))
          await new Promise<void>((resolve) => {
            const done = (): void => {
              channel.off('drain', done);
              channel.off('close', done);
              resolve();
            };
            channel.on('drain', done);
            channel.on('close', done);
          });
        if (channel.destroyed || code !== null) break send;
        sent += chunk.length;
        options.onBytes?.(sent, total);
      }
    }
    channel.end();
    await closed;
  } finally {
    clearTimeout(timer);
  }
  if (code !== 0)
    throw new GtError(
      'GT_PROVISION_FAILED',
      timedOut
        ? `uploading into ${dir} did not finish within ${options.timeoutMs ?? 600_000} ms`
        : `unpacking into ${dir} failed (exit ${String(code)}): ${stderr.trim() || 'the channel closed'}`,
    );
  return parseSums(Buffer.concat(out).toString());
}

/** Checksums as printed by sha256sum ("<hex>  <path>") or openssl dgst -r ("<hex> *<path>"). */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.trim().split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) sums.set(m[2], m[1]);
  }
  return sums;
}
