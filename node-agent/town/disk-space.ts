/**
 * Free space on a filesystem (statfs) and how the doctor grades it. A threshold is the smaller of
 * an absolute size and a share of the filesystem, so a big disk is not flagged while it still has
 * gigabytes free and a small one (a 64 MiB tmpfs) is not flagged the moment it is created.
 */
import { statfsSync } from 'node:fs';

const MiB = 1024 * 1024;

/** Below the smaller of these, writes are about to fail: error. */
export const DISK_ERROR = { bytes: 16 * MiB, share: 0.01, inodes: 1_000 } as const;
/** Below the smaller of these: warning. */
export const DISK_WARNING = { bytes: 256 * MiB, share: 0.05, inodes: 10_000 } as const;

export type DiskLevel = 'ok' | 'warning' | 'error';

export interface DiskSpace {
  /** Bytes an unprivileged writer may still use (statfs bavail × bsize). */
  freeBytes: number;
  totalBytes: number;
  /** Free and total inodes; totalInodes is 0 on filesystems without an inode count. */
  freeInodes: number;
  totalInodes: number;
}

export function diskSpaceOf(path: string): DiskSpace {
  const s = statfsSync(path);
  return {
    freeBytes: s.bavail * s.bsize,
    totalBytes: s.blocks * s.bsize,
    freeInodes: s.ffree,
    totalInodes: s.files,
  };
}

/** The free-bytes and free-inodes floors of a level on this filesystem. */
export function floorsOf(
  space: DiskSpace,
  level: typeof DISK_ERROR | typeof DISK_WARNING,
): { bytes: number; inodes: number } {
  return {
    bytes: Math.min(level.bytes, space.totalBytes * level.share),
    inodes: space.totalInodes === 0 ? 0 : Math.min(level.inodes, space.totalInodes * level.share),
  };
}

export function diskLevel(space: DiskSpace): DiskLevel {
  const below = (level: typeof DISK_ERROR | typeof DISK_WARNING): boolean => {
    const floor = floorsOf(space, level);
    return space.freeBytes < floor.bytes || space.freeInodes < floor.inodes;
  };
  if (below(DISK_ERROR)) return 'error';
  if (below(DISK_WARNING)) return 'warning';
  return 'ok';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.max(0, Math.round(n))} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i] ?? 'TiB'}`;
}

/** "1.2 MiB free of 40.0 MiB (3%)" plus the inode count when inodes are what runs out. */
export function describeSpace(space: DiskSpace): string {
  const pct = space.totalBytes === 0 ? 0 : Math.floor((space.freeBytes / space.totalBytes) * 100);
  const text = `${formatBytes(space.freeBytes)} free of ${formatBytes(space.totalBytes)} (${pct}%)`;
  const inodesLow = space.freeInodes < floorsOf(space, DISK_WARNING).inodes;
  return inodesLow ? `${text}, ${space.freeInodes} of ${space.totalInodes} inodes free` : text;
}
