/**
 * The SQLite side of a beads store: `.beads/beads.db` in WAL mode with a busy timeout. Every
 * issue row keeps the exact JSONL record (`record`); the other columns and the dependencies and
 * labels tables are indexes derived from it, so export never loses a field.
 */
import { statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { diskFullError } from '../../proto/index.js';

// require(), not import: loading a CommonJS package through ESM makes node lex its sources for
// named exports, a measurable slice of every bd process's startup.
const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

export type BeadsDb = BetterSqlite3.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS issues (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL,
  issue_type TEXT NOT NULL,
  assignee TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  pinned INTEGER NOT NULL DEFAULT 0,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS issues_status ON issues(status, priority);
CREATE INDEX IF NOT EXISTS issues_ready_priority ON issues(status, pinned, priority, created_at, id);
CREATE INDEX IF NOT EXISTS issues_ready_oldest ON issues(status, pinned, created_at, id);
CREATE TABLE IF NOT EXISTS dependencies (
  issue_id TEXT NOT NULL,
  depends_on_id TEXT NOT NULL,
  type TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dependencies_issue ON dependencies(issue_id);
CREATE INDEX IF NOT EXISTS dependencies_target ON dependencies(depends_on_id, type);
CREATE INDEX IF NOT EXISTS dependencies_type ON dependencies(type, depends_on_id, issue_id);
CREATE TABLE IF NOT EXISTS labels (
  issue_id TEXT NOT NULL,
  label TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS labels_issue ON labels(issue_id);
CREATE INDEX IF NOT EXISTS labels_label ON labels(label);
CREATE TABLE IF NOT EXISTS config (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

export interface OpenDbOptions {
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/**
 * SQLite reports a full disk as SQLITE_FULL, or, when WAL mode cannot size its shared-memory file,
 * as a bare "disk I/O error": with no space left on the database's filesystem that is GT_DISK_FULL.
 */
export function sqliteFailure(path: string, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return err;
  const full =
    code === 'SQLITE_FULL' ||
    (code.startsWith('SQLITE_IOERR') &&
      (() => {
        const fs = statfsSync(dirname(path));
        return fs.bavail * fs.bsize < 1024 * 1024;
      })());
  return full ? diskFullError(path, err) : err;
}

export function openDb(path: string, options: OpenDbOptions = {}): BeadsDb {
  let db: BeadsDb | undefined;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 30_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = OFF');
    return db;
  } catch (err) {
    db?.close();
    throw sqliteFailure(path, err);
  }
}

/** Bump when SCHEMA gains a table or index; older databases are brought up to date on open. */
export const SCHEMA_VERSION = 3;

/** Create the tables and indexes (idempotent). Run inside a write transaction by the caller. */
export function ensureSchema(db: BeadsDb): void {
  db.exec(SCHEMA);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/** True when the database has the current tables and indexes. */
export function schemaIsCurrent(db: BeadsDb): boolean {
  return Number(db.pragma('user_version', { simple: true })) >= SCHEMA_VERSION;
}

/**
 * What is wrong with the database file at `path`, or undefined when SQLite can open it and its
 * quick integrity check passes (doctor's question; never writes to the database). Throws
 * GT_DISK_FULL when it cannot look for lack of space (a WAL database needs room for its
 * shared-memory file even to be read): that is not a fault of the file.
 */
export function databaseProblem(path: string): string | undefined {
  let db: BeadsDb | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5_000 });
    const result = db.pragma('quick_check', { simple: true }) as unknown;
    return result === 'ok' ? undefined : `SQLite integrity check: ${String(result)}`;
  } catch (err) {
    const fs = statfsSync(dirname(path));
    if (fs.bavail * fs.bsize < 1024 * 1024) throw diskFullError(path, err);
    return err instanceof Error ? err.message : String(err);
  } finally {
    db?.close();
  }
}
