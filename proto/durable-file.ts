/**
 * Durable files: the one writer discipline of DESIGN.md §4, shared by the node agent (town, rigs,
 * inboxes, state) and the coordinator (federation.json, outbox).
 *
 * - writeFileAtomic: temp file in the same directory + fsync + rename, so a crash never leaves
 *   half a file.
 * - withFileLock: an exclusive lock file (`<path>.lock`, O_EXCL) holding pid@host; a holder that
 *   died on this host is detected and the lock broken, a lock from another host expires after
 *   `staleMs`.
 * - readJsonFile: parse + zod-validate, with errors of the form `file: path.to.key: problem`.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { ZodType } from 'zod';
import { GtError, errorMessage, isDiskFull, writeFailure } from './errors.js';

let tmpCounter = 0;
function tmpPathFor(path: string): string {
  tmpCounter += 1;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${tmpCounter}.tmp`);
}

/**
 * Atomically replace `path` with `data` (temp file + fsync + rename). On any failure the temp file
 * is removed and `path` is left as it was; a full disk is GT_DISK_FULL naming `path`.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const tmp = tmpPathFor(path);
  let created = false;
  try {
    const fh = await open(tmp, 'wx', mode);
    created = true;
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw writeFailure(path, err);
  }
}

/** Synchronous twin of writeFileAtomic, for short-lived CLI processes on their hot path. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tmpPathFor(path);
  let created = false;
  try {
    const fd = openSync(tmp, 'wx', mode);
    created = true;
    try {
      writeFileSync(fd, data); // loops over short writes, unlike one writeSync
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    if (created)
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
    throw writeFailure(path, err);
  }
}

/**
 * Append `data` to `path` whole or not at all: a write cut short (a full disk mid-record) is
 * truncated back to the old length, and a file this call created is removed again, so readers
 * never see half a record. Not fsynced (appends are records in logs and inboxes, not state).
 */
export async function appendFileWhole(path: string, data: string | Uint8Array): Promise<void> {
  const existed = existsSync(path);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'a');
  } catch (err) {
    throw writeFailure(path, err);
  }
  let size: number | undefined;
  try {
    size = (await fh.stat()).size;
    await fh.appendFile(data);
  } catch (err) {
    if (size !== undefined) await fh.truncate(size).catch(() => undefined);
    await fh.close().catch(() => undefined);
    if (!existed && size === 0) await unlink(path).catch(() => undefined);
    throw writeFailure(path, err);
  }
  await fh.close();
}

export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export interface FileLockOptions {
  /** Give up after this long (GT_LOCK_TIMEOUT). Default 15 s. */
  timeoutMs?: number;
  /** A lock held by another host is considered abandoned after this long. Default 60 s. */
  staleMs?: number;
  signal?: AbortSignal;
}

const HOST = hostname();

function holderIsDead(content: string, mtimeMs: number, staleMs: number): boolean {
  const match = /^(\d+)@(.*)$/.exec(content.trim());
  if (match === null) return Date.now() - mtimeMs > Math.min(staleMs, 2_000);
  const [, pidText, host] = match;
  if (host !== HOST) return Date.now() - mtimeMs > staleMs;
  const pid = Number(pidText);
  if (pid === process.pid) return false;
  return !pidAlive(pid);
}

async function tryBreakStaleLock(lockPath: string, staleMs: number): Promise<void> {
  try {
    const [content, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    if (!holderIsDead(content, info.mtimeMs, staleMs)) return;
    // Rename first so two breakers cannot both delete a fresh lock taken in between.
    const grave = `${lockPath}.stale.${process.pid}.${Date.now()}`;
    await rename(lockPath, grave);
    const moved = await readFile(grave, 'utf8').catch(() => '');
    if (moved !== content) {
      // Someone re-took the lock between our read and rename: put it back.
      await rename(grave, lockPath).catch(() => undefined);
      return;
    }
    await unlink(grave).catch(() => undefined);
  } catch {
    /* lock vanished or unreadable: next attempt decides */
  }
}

/** Run `fn` while holding an exclusive lock on `path` (lock file `<path>.lock`). */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const lockPath = `${path}.lock`;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const staleMs = options.staleMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const fh = await open(lockPath, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}@${HOST}`);
      } catch (err) {
        // Never leave an empty lock behind (a full disk): it would hold others off until stale.
        await fh.close().catch(() => undefined);
        await unlink(lockPath).catch(() => undefined);
        throw writeFailure(path, err, `no room for its lock file ${lockPath}`);
      }
      await fh.close();
      break;
    } catch (err) {
      if (isDiskFull(err)) throw writeFailure(path, err, `no room for its lock file ${lockPath}`);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new GtError(
          'GT_NOT_FOUND',
          `cannot lock ${path}: directory ${dirname(path)} does not exist`,
          {
            hint: 'run `gt doctor --fix` to recreate missing folders',
            cause: err,
          },
        );
      }
      if (code !== 'EEXIST') throw err;
    }
    if (Date.now() > deadline) {
      throw new GtError(
        'GT_LOCK_TIMEOUT',
        `timed out after ${timeoutMs} ms waiting for the lock on ${path}`,
        {
          hint: `another gt/bd process holds ${lockPath}; if none is running, delete that file or run \`gt doctor --fix\``,
        },
      );
    }
    if (attempt === 3 || attempt % 10 === 9) await tryBreakStaleLock(lockPath, staleMs);
    await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 25);
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

/** Format zod issues as `file: path.to.key: problem` lines. */
export function formatSchemaIssues(
  file: string,
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): string {
  return issues
    .map((issue) => {
      const at = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
      return `${file}: ${at}: ${issue.message}`;
    })
    .join('\n');
}

export interface ReadJsonOptions {
  /** What to tell the user to do when the file is broken. */
  hint?: string;
}

/** Parse + validate a JSON text; throws GT_CONFIG_INVALID naming the file and the field. */
export function parseJsonText<T>(
  file: string,
  text: string,
  schema: ZodType<T>,
  options: ReadJsonOptions = {},
): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new GtError(
      'GT_CONFIG_INVALID',
      `${file}: (root): not valid JSON (${errorMessage(err)})`,
      {
        hint:
          options.hint ??
          `fix the JSON syntax in ${file} by hand; \`gt doctor\` lists every broken file`,
        cause: err,
      },
    );
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new GtError('GT_CONFIG_INVALID', formatSchemaIssues(file, result.error.issues), {
      hint:
        options.hint ??
        `correct the field(s) named above in ${file}, or run \`gt doctor\` for advice`,
    });
  }
  return result.data;
}

/** Read + validate a JSON file. Missing file → GT_CONFIG_MISSING. */
export async function readJsonFile<T>(
  path: string,
  schema: ZodType<T>,
  options: ReadJsonOptions = {},
): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new GtError('GT_CONFIG_MISSING', `${path}: file is missing`, {
        hint: options.hint ?? 'run `gt doctor --fix` to recreate it',
        cause: err,
      });
    }
    throw err;
  }
  return parseJsonText(path, text, schema, options);
}

export function readJsonFileSync<T>(
  path: string,
  schema: ZodType<T>,
  options: ReadJsonOptions = {},
): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new GtError('GT_CONFIG_MISSING', `${path}: file is missing`, {
        hint: options.hint ?? 'run `gt doctor --fix` to recreate it',
        cause: err,
      });
    }
    throw err;
  }
  return parseJsonText(path, text, schema, options);
}

/** Locked read-modify-write of a JSON file: read (validated), mutate, write atomically. */
export async function updateJsonFile<T>(
  path: string,
  schema: ZodType<T>,
  mutate: (current: T) => T | Promise<T>,
  options: FileLockOptions & ReadJsonOptions = {},
): Promise<T> {
  return withFileLock(
    path,
    async () => {
      const current = await readJsonFile(path, schema, options);
      const next = await mutate(current);
      await writeJsonAtomic(path, next);
      return next;
    },
    options,
  );
}

/**
 * True when a process with this pid runs on this host. A zombie (exited, not yet reaped by its
 * parent) answers `kill(pid, 0)` but runs nothing: it counts as gone. Linux shows the state in
 * /proc/<pid>/stat; elsewhere the signal test alone decides.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return procState(pid) !== 'Z';
}

/** The one-letter process state from /proc/<pid>/stat (R, S, D, Z, ...), or undefined. */
export function procState(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, so read after the last ')'.
  return /^\s*(\S)/.exec(stat.slice(stat.lastIndexOf(')') + 1))?.[1];
}

/** The pid a pid file records, or undefined (no file, unreadable, not a pid). */
export function readPidFile(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The pid recorded in a pid file if that process is alive, else undefined. */
export function livePid(pidFile: string): number | undefined {
  const pid = readPidFile(pidFile);
  return pid !== undefined && pidAlive(pid) ? pid : undefined;
}

/**
 * Take a pid file exclusively (O_EXCL) for this process: a second instance refuses to start
 * (GT_DAEMON_RUNNING); a pid file whose process is gone is stale and replaced.
 */
export function claimPidFile(pidFile: string, what: string, hint: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(pidFile, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const other = livePid(pidFile);
      if (other !== undefined)
        throw new GtError('GT_DAEMON_RUNNING', `${what} is already running (pid ${other})`, {
          hint,
        });
      try {
        unlinkSync(pidFile); // stale: its process is gone
      } catch {
        /* someone else removed it first */
      }
    }
  }
  throw new GtError('GT_DAEMON_FAILED', `could not take ${pidFile}`, {
    hint: `another ${what} is starting; try again`,
  });
}
