/**
 * `bd init --prefix P` and database discovery (BEADS_DIR first, else walk up from cwd to the git
 * root looking for `.beads/`).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GtError } from '../../proto/index.js';
import { validatePrefix } from './ids.js';
import { BeadsStore, DB_FILE, JSONL_FILE, type ImportResult } from './store.js';

export interface InitBeadsOptions {
  /** The .beads directory to initialise (created if missing). */
  beadsDir: string;
  /** Issue id prefix, e.g. "wyv". */
  prefix: string;
  /** Overwrite an existing database. */
  force?: boolean;
  actor?: string;
}

export interface InitBeadsResult {
  beadsDir: string;
  prefix: string;
  /** Set when an existing issues.jsonl was imported. */
  imported?: ImportResult;
  issues: number;
}

const GITIGNORE = `# beads: the database is local, issues.jsonl is the shared record
*.db
*.db-wal
*.db-shm
*.db-journal
*.lock
.*.tmp
`;

/** Equivalent of `bd init --prefix P` on `beadsDir`. Synchronous. */
export function initBeads(options: InitBeadsOptions): InitBeadsResult {
  const prefix = validatePrefix(options.prefix);
  const beadsDir = resolve(options.beadsDir);
  const dbPath = join(beadsDir, DB_FILE);
  if (existsSync(dbPath)) {
    if (options.force !== true) {
      throw new GtError('GT_ALREADY_EXISTS', `a beads database already exists at ${dbPath}`, {
        hint: 'use it as it is, or run `bd init --force` to rebuild it from issues.jsonl',
      });
    }
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  }
  mkdirSync(beadsDir, { recursive: true });
  writeFileSync(join(beadsDir, 'config.yaml'), `issue-prefix: ${prefix}\n`);
  const ignore = join(beadsDir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, GITIGNORE);
  const hadJsonl = existsSync(join(beadsDir, JSONL_FILE));
  const store = BeadsStore.open({
    beadsDir,
    create: true,
    autoImport: false,
    actor: options.actor,
  });
  try {
    store.write(() => store.setConfig('issue_prefix', prefix));
    const imported = hadJsonl ? store.importIfJsonlChanged() : undefined;
    store.exportJsonl();
    const issues = Number(store.sql('SELECT count(*) FROM issues').pluck().get());
    return { beadsDir, prefix, issues, ...(imported === undefined ? {} : { imported }) };
  } finally {
    store.close();
  }
}

export interface FindBeadsDirOptions {
  cwd: string;
  /** The BEADS_DIR environment value, if set. */
  beadsDirEnv?: string | undefined;
}

/** Where the beads directory is: BEADS_DIR, else the nearest `.beads/` up to the git root. */
export function findBeadsDir(options: FindBeadsDirOptions): string | undefined {
  if (options.beadsDirEnv !== undefined && options.beadsDirEnv !== '') {
    return resolve(options.cwd, options.beadsDirEnv);
  }
  let dir = resolve(options.cwd);
  for (;;) {
    const candidate = join(dir, '.beads');
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(dir, '.git'))) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The rig's beads directory: `<rigRoot>/.beads` (where `gt rig add` ran `bd init`). */
export function rigBeadsDir(rigRoot: string): string {
  return join(resolve(rigRoot), '.beads');
}

/** Environment every agent Gas Town starts in a rig gets, so its `bd` finds the rig's beads. */
export function beadsEnvFor(rigRoot: string): { BEADS_DIR: string } {
  return { BEADS_DIR: rigBeadsDir(rigRoot) };
}
