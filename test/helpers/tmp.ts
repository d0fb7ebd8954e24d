import { mkdtempSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/** A fresh temp dir (realpath'd, short so unix socket paths fit), removed when the test ends. */
export function tempDir(prefix = 'gt-'): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Same, for beforeAll/afterAll scopes: caller removes it. */
export function tempDirUnmanaged(prefix = 'gt-'): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}
