/**
 * BeadsStore: one `.beads/` directory — beads.db (SQLite) and issues.jsonl kept in step.
 *
 * The one lock: every write runs in a `BEGIN IMMEDIATE` transaction and the JSONL export happens
 * inside that same transaction (temp file + rename) before COMMIT, so the SQLite write lock
 * covers both the database and the export; an export never races a write and issues.jsonl is
 * never behind the database once a write command returns.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GtError, writeFileAtomicSync } from '../../proto/index.js';
import { ensureSchema, openDb, schemaIsCurrent, type BeadsDb } from './db.js';
import { noDatabaseError, notFoundError } from './errors.js';
import { resolveIdAmong } from './ids.js';
import { normalizeIssue, orderedIssue, parseJsonl } from './jsonl.js';
import type { BeadIssue } from './types.js';
import type Database from 'better-sqlite3';

export const DB_FILE = 'beads.db';
export const JSONL_FILE = 'issues.jsonl';

export interface OpenStoreOptions {
  beadsDir: string;
  /** Who is acting (BD_ACTOR / $USER in the CLI). */
  actor?: string;
  /** Write issues.jsonl after every write (default true). */
  autoExport?: boolean;
  /** Create the database if missing (bd init). */
  create?: boolean;
  /**
   * In-process users (the node agent) may debounce the export: writes then return without
   * rewriting issues.jsonl, and one export (in its own BEGIN IMMEDIATE transaction, so still under
   * the one lock) follows within this many ms; flush() and close() always export what is pending.
   * Unset (the CLI): export inside every write transaction.
   */
  exportDebounceMs?: number;
  /** Import issues.jsonl when it changed behind the database's back (default true). */
  autoImport?: boolean;
}

export interface ImportResult {
  created: number;
  updated: number;
  unchanged: number;
  /** Older than the stored copy, or a tombstoned id that import never resurrects. */
  skipped: number;
}

export class BeadsStore {
  readonly beadsDir: string;
  readonly dbPath: string;
  readonly jsonlPath: string;
  readonly actor: string;
  autoExport: boolean;
  private readonly db: BeadsDb;
  private readonly statements = new Map<string, Database.Statement>();
  private dirty = false;
  private inWrite = false;
  private readonly exportDebounceMs: number | undefined;
  private exportPending = false;
  private exportTimer: NodeJS.Timeout | undefined;
  /** The last failure of a debounced export (retried by the next flush). */
  lastExportError: unknown;

  private constructor(options: OpenStoreOptions, db: BeadsDb) {
    this.beadsDir = options.beadsDir;
    this.dbPath = join(options.beadsDir, DB_FILE);
    this.jsonlPath = join(options.beadsDir, JSONL_FILE);
    this.actor = options.actor ?? 'unknown';
    this.autoExport = options.autoExport ?? true;
    this.exportDebounceMs = options.exportDebounceMs;
    this.db = db;
  }

  /** Open a store; a missing database is rebuilt from issues.jsonl when one exists. */
  static open(options: OpenStoreOptions): BeadsStore {
    const dbPath = join(options.beadsDir, DB_FILE);
    const jsonlPath = join(options.beadsDir, JSONL_FILE);
    const fresh = !existsSync(dbPath);
    if (fresh && !options.create && !existsSync(jsonlPath)) {
      throw noDatabaseError(options.beadsDir);
    }
    if (!existsSync(options.beadsDir)) throw noDatabaseError(options.beadsDir);
    const store = new BeadsStore(options, openDb(dbPath));
    if (!schemaIsCurrent(store.db)) {
      store.write(() => {
        if (!schemaIsCurrent(store.db)) ensureSchema(store.db);
      });
    }
    if (options.autoImport !== false) store.importIfJsonlChanged();
    return store;
  }

  /** Flush a pending debounced export, then close the database. */
  close(): void {
    try {
      this.flush();
    } finally {
      this.db.close();
    }
  }

  /** Export now if a debounced export is pending. */
  flush(): void {
    if (this.exportTimer !== undefined) clearTimeout(this.exportTimer);
    this.exportTimer = undefined;
    if (!this.exportPending) return;
    this.exportJsonl();
  }

  private scheduleExport(): void {
    this.exportPending = true;
    if (this.exportTimer !== undefined) return;
    this.exportTimer = setTimeout(() => {
      this.exportTimer = undefined;
      try {
        this.flush();
        this.lastExportError = undefined;
      } catch (err) {
        this.lastExportError = err; // kept pending: the next flush or close retries
      }
    }, this.exportDebounceMs);
    this.exportTimer.unref();
  }

  /** A cached prepared statement. */
  sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (stmt === undefined) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  getConfig(key: string): string | undefined {
    const row = this.sql('SELECT value FROM config WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row?.value;
  }

  setConfig(key: string, value: string): void {
    this.sql('INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)').run(key, value);
  }

  get prefix(): string {
    return this.getConfig('issue_prefix') ?? prefixFromYaml(this.beadsDir) ?? 'bd';
  }

  /** Run `fn` in a BEGIN IMMEDIATE transaction; export issues.jsonl before COMMIT if changed. */
  write<T>(fn: () => T): T {
    if (this.inWrite) return fn();
    const run = this.db.transaction(() => {
      this.dirty = false;
      const result = fn();
      if (this.dirty && this.autoExport) {
        if (this.exportDebounceMs === undefined) this.exportLocked();
        else this.scheduleExport();
      }
      return result;
    });
    this.inWrite = true;
    try {
      return this.busy(() => run.immediate());
    } finally {
      this.inWrite = false;
      this.dirty = false;
    }
  }

  /**
   * Hold the write lock (BEGIN IMMEDIATE … COMMIT) across async work — bd sync's git merge — so
   * no other bd can write or export meanwhile. Writes made inside run in this transaction.
   */
  async withWriteLock<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inWrite) return fn();
    this.busy(() => this.db.exec('BEGIN IMMEDIATE'));
    this.inWrite = true;
    try {
      const result = await fn();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.inWrite = false;
    }
  }

  /** Turn SQLITE_BUSY (the busy timeout ran out) into a GtError that says what to do. */
  private busy<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new GtError('GT_LOCK_TIMEOUT', `the beads database ${this.dbPath} stayed locked`, {
          hint: 'another bd (often a long `bd sync`) holds the write lock; try again',
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Write issues.jsonl now (under the write lock). */
  exportJsonl(): { path: string; count: number } {
    if (this.inWrite) return this.exportLocked();
    const run = this.db.transaction(() => this.exportLocked());
    return this.busy(() => run.immediate());
  }

  private exportLocked(): { path: string; count: number } {
    const rows = this.sql('SELECT record FROM issues ORDER BY id').pluck().all() as string[];
    writeFileAtomicSync(this.jsonlPath, rows.length === 0 ? '' : `${rows.join('\n')}\n`);
    this.exportPending = false;
    this.rememberJsonl();
    return { path: this.jsonlPath, count: rows.length };
  }

  private rememberJsonl(): void {
    const info = statSync(this.jsonlPath);
    this.setConfig('jsonl_stamp', `${info.size}:${info.mtimeMs}`);
  }

  private jsonlStamp(): string | undefined {
    try {
      const info = statSync(this.jsonlPath);
      return `${info.size}:${info.mtimeMs}`;
    } catch {
      return undefined;
    }
  }

  /** After a git pull (or a fresh clone) issues.jsonl may be ahead of the database: import it. */
  importIfJsonlChanged(): ImportResult | undefined {
    const stamp = this.jsonlStamp();
    if (stamp === undefined || stamp === this.getConfig('jsonl_stamp')) return undefined;
    return this.write(() => {
      const now = this.jsonlStamp();
      if (now === undefined || now === this.getConfig('jsonl_stamp')) return undefined;
      const text = readFileSync(this.jsonlPath, 'utf8');
      const result = this.importLocked(parseJsonl(text, this.jsonlPath).issues);
      this.dirty = true;
      return result;
    });
  }

  getIssue(id: string): BeadIssue | undefined {
    const text = this.sql('SELECT record FROM issues WHERE id = ?').pluck().get(id) as
      string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as BeadIssue);
  }

  hasIssue(id: string): boolean {
    return this.sql('SELECT 1 FROM issues WHERE id = ?').pluck().get(id) !== undefined;
  }

  /** Resolve a typed id: exact, prefix + input, then unique substring of the hash. */
  resolveId(input: string): string {
    const typed = input.trim();
    if (this.hasIssue(typed)) return typed;
    const withPrefix = `${this.prefix}-${typed}`;
    if (this.hasIssue(withPrefix)) return withPrefix;
    const like = `%${typed.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
    const candidates = this.sql(
      "SELECT id FROM issues WHERE substr(id, instr(id, '-') + 1) LIKE ? ESCAPE '\\'",
    )
      .pluck()
      .all(like) as string[];
    return resolveIdAmong(typed, this.prefix, candidates);
  }

  requireIssue(input: string): BeadIssue {
    const id = this.resolveId(input);
    const issue = this.getIssue(id);
    if (issue === undefined) throw notFoundError(id);
    return issue;
  }

  allIssues(): BeadIssue[] {
    const rows = this.sql('SELECT record FROM issues ORDER BY id').pluck().all() as string[];
    return rows.map((text) => JSON.parse(text) as BeadIssue);
  }

  /** Insert or replace one issue and its derived index rows. Call inside write(). */
  putIssue(issue: BeadIssue): void {
    const record = orderedIssue(issue);
    this.sql(
      `INSERT OR REPLACE INTO issues
         (id, status, priority, issue_type, assignee, created_at, updated_at, pinned, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.id,
      record.status,
      record.priority,
      record.issue_type,
      typeof record.assignee === 'string' && record.assignee !== '' ? record.assignee : null,
      record.created_at,
      record.updated_at,
      record.pinned === true ? 1 : 0,
      JSON.stringify(record),
    );
    this.sql('DELETE FROM dependencies WHERE issue_id = ?').run(record.id);
    const addDep = this.sql(
      'INSERT INTO dependencies (issue_id, depends_on_id, type) VALUES (?, ?, ?)',
    );
    for (const dep of record.dependencies ?? []) {
      const type = typeof dep.type === 'string' && dep.type !== '' ? dep.type : 'blocks';
      addDep.run(record.id, String(dep.depends_on_id), type);
    }
    this.sql('DELETE FROM labels WHERE issue_id = ?').run(record.id);
    const addLabel = this.sql('INSERT INTO labels (issue_id, label) VALUES (?, ?)');
    for (const label of record.labels ?? []) addLabel.run(record.id, String(label));
    this.dirty = true;
  }

  /** Import records (inside write()): by content and updated_at, never resurrecting tombstones. */
  importLocked(incoming: readonly BeadIssue[]): ImportResult {
    const result: ImportResult = { created: 0, updated: 0, unchanged: 0, skipped: 0 };
    for (const raw of incoming) {
      const issue = orderedIssue(normalizeIssue({ ...raw }));
      const current = this.getIssue(issue.id);
      if (current === undefined) {
        this.putIssue(issue);
        result.created += 1;
      } else if (JSON.stringify(orderedIssue(current)) === JSON.stringify(issue)) {
        result.unchanged += 1;
      } else if (current.status === 'tombstone' && issue.status !== 'tombstone') {
        result.skipped += 1;
      } else if (issue.status === 'tombstone' && current.status !== 'tombstone') {
        this.putIssue(issue);
        result.updated += 1;
      } else if (Date.parse(issue.updated_at) < Date.parse(current.updated_at)) {
        result.skipped += 1;
      } else {
        this.putIssue(issue);
        result.updated += 1;
      }
    }
    return result;
  }

  /** Parse and import a JSONL text; nothing is written if any line is bad. */
  importJsonlText(text: string, file: string): ImportResult {
    const { issues } = parseJsonl(text, file);
    return this.write(() => this.importLocked(issues));
  }

  /** Replace the whole content with `issues` (used by sync after a merge). */
  replaceAll(issues: readonly BeadIssue[]): void {
    this.write(() => {
      this.sql('DELETE FROM issues').run();
      this.sql('DELETE FROM dependencies').run();
      this.sql('DELETE FROM labels').run();
      for (const issue of issues) this.putIssue(normalizeIssue({ ...issue }));
      this.dirty = true;
    });
  }

  markDirty(): void {
    this.dirty = true;
  }
}

function prefixFromYaml(beadsDir: string): string | undefined {
  try {
    const text = readFileSync(join(beadsDir, 'config.yaml'), 'utf8');
    const match = /^issue-prefix:\s*"?([^"\s]+)"?\s*$/m.exec(text);
    return match?.[1];
  } catch {
    return undefined;
  }
}
