// Durable writes on a really full filesystem (a 1 MiB tmpfs): GT_DISK_FULL naming the file, the
// old content intact, no temp or lock file left, and an inbox append cut short by the disk rolled
// back to the old bytes.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Mailbox } from '../../node-agent/index.js';
import { GtError, withFileLock, writeFileAtomic, writeFileAtomicSync } from '../../proto/index.js';
import { fillUntilFull, mountTmpfs, tmpfsUnavailable, unmount } from '../helpers/tmpfs.js';
import { tempDirUnmanaged } from '../helpers/tmp.js';

const unavailable = tmpfsUnavailable();
if (unavailable !== undefined) console.warn(`disk-full integration tests skipped: ${unavailable}`);

let base: string;
let disk: string;

beforeEach(() => {
  if (unavailable !== undefined) return;
  base = tempDirUnmanaged('gt-full-');
  disk = join(base, 'disk');
  mountTmpfs(disk, 1);
});

afterEach(() => {
  if (unavailable !== undefined) return;
  unmount(disk);
  rmSync(base, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<GtError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GtError);
  return err as GtError;
}

// Skipped only where mounting a tmpfs is not permitted (not root, no CAP_SYS_ADMIN); the reason
// is printed. It runs here and in CI, which run as root.
describe.skipIf(unavailable !== undefined)('writes on a full disk', () => {
  it('an atomic write fails with GT_DISK_FULL, keeps the old file and removes its temp file', async () => {
    const file = join(disk, 'state.json');
    writeFileSync(file, '{"old":true}\n');
    fillUntilFull(join(disk, 'filler'));
    const big = 'x'.repeat(64 * 1024);
    const err = await rejection(writeFileAtomic(file, big));
    expect(err.code).toBe('GT_DISK_FULL');
    expect(err.message).toBe(`disk full: could not write ${file}`);
    expect(err.hint).toContain('`gt doctor --fix`');
    let syncErr: unknown;
    try {
      writeFileAtomicSync(file, big);
    } catch (e) {
      syncErr = e;
    }
    expect(syncErr).toMatchObject({ code: 'GT_DISK_FULL' });
    expect(readFileSync(file, 'utf8')).toBe('{"old":true}\n');
    expect(readdirSync(disk).sort()).toEqual(['filler', 'state.json']);
  });

  it('a lock that cannot be written is reported and not left behind', async () => {
    const file = join(disk, 'rigs.json');
    writeFileSync(file, '{}');
    fillUntilFull(join(disk, 'filler'));
    const err = await rejection(withFileLock(file, () => Promise.resolve('never')));
    expect(err.message).toBe(
      `disk full: could not write ${file} (no room for its lock file ${file}.lock)`,
    );
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('an inbox append the disk cuts short is rolled back to the old bytes', async () => {
    const home = join(disk, 'witness');
    const box = new Mailbox({ home });
    // One message filling most of a page: the next append starts in that page's slack.
    await box.append({
      from: 'mayor',
      to: 'alpha/witness',
      subject: 'first',
      body: 'y'.repeat(3800),
    });
    const before = readFileSync(box.path);
    expect(before.length).toBeGreaterThan(3900);
    expect(before.length).toBeLessThan(4096);
    // Full, but for one page: the lock file takes it, so the append itself hits the wall mid-line.
    fillUntilFull(join(disk, 'filler'), 4096);
    const err = await rejection(
      box.append({
        from: 'mayor',
        to: 'alpha/witness',
        subject: 'second',
        body: 'z'.repeat(20_000),
      }),
    );
    expect(err.code).toBe('GT_DISK_FULL');
    expect(err.message).toBe(`disk full: could not write ${box.path}`);
    expect(readFileSync(box.path).equals(before)).toBe(true);
    expect(readdirSync(join(home, 'mail'))).toEqual(['inbox.jsonl']);
    expect((await box.list()).map((m) => m.subject)).toEqual(['first']);
  });
});
