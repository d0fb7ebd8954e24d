// A small tmpfs for the disk-full tests: real ENOSPC from the kernel, nothing mocked. Mounting
// needs root (the tests run as root here and in CI); where it is not permitted, the tests print
// why and skip.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmdirSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function mountTmpfs(dir: string, sizeMiB: number): void {
  mkdirSync(dir, { recursive: true });
  run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
}

/** Unmount `dir`; lazily (`umount -l`) when something still holds it. Never throws. */
export function unmount(dir: string): void {
  try {
    run('umount', [dir]);
  } catch {
    try {
      run('umount', ['-l', dir]);
    } catch {
      /* not mounted */
    }
  }
}

/** Why a tmpfs cannot be mounted here, or undefined when it can (tried once on a scratch dir). */
export function tmpfsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux (this is ${process.platform})`;
  const dir = mkdtempSync(join(tmpdir(), 'gt-tmpfs-probe-'));
  try {
    mountTmpfs(dir, 1);
    unmount(dir);
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `cannot mount a tmpfs (${stderr || (err as Error).message}); run the tests as root`;
  } finally {
    rmdirSync(dir);
  }
}

/**
 * Append to `file` in whole pages until the filesystem is full (ENOSPC); then give back `spareBytes`
 * (rounded to pages) by truncating. Returns the file's size.
 */
export function fillUntilFull(file: string, spareBytes = 0): number {
  const page = Buffer.alloc(4096, 0x78);
  const fd = openSync(file, 'a');
  try {
    for (;;) {
      try {
        writeSync(fd, page);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    const full = fstatSync(fd).size;
    const spare = Math.ceil(spareBytes / 4096) * 4096;
    if (spare > 0) ftruncateSync(fd, Math.max(0, full - spare));
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}
