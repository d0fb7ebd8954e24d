// Public surface of the beads library (issue tracking, compatible with beads' on-disk format).
// PLACEHOLDER until the beads work lands: creates the layout only.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface InitBeadsOptions {
  /** The .beads directory to initialise (created if missing). */
  beadsDir: string;
  /** Issue id prefix, e.g. "wyv". */
  prefix: string;
  /** Overwrite an existing database. */
  force?: boolean;
}

/** Equivalent of `bd init --prefix P` on `beadsDir`. Synchronous. */
export function initBeads(options: InitBeadsOptions): void {
  mkdirSync(options.beadsDir, { recursive: true });
  const jsonl = join(options.beadsDir, 'issues.jsonl');
  if (!existsSync(jsonl)) writeFileSync(jsonl, '');
  writeFileSync(join(options.beadsDir, 'config.yaml'), `issue-prefix: ${options.prefix}\n`);
}
