import { describe, expect, it } from 'vitest';
import { describeSpace, diskLevel, formatBytes, type DiskSpace } from './disk-space.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function space(freeBytes: number, totalBytes: number, freeInodes = 1e6, totalInodes = 2e6) {
  return { freeBytes, totalBytes, freeInodes, totalInodes } satisfies DiskSpace;
}

describe('disk levels: the smaller of an absolute floor and a share of the filesystem', () => {
  it('a big disk is fine with a few GiB free, and flagged only near its absolute floors', () => {
    expect(diskLevel(space(3 * GiB, 1000 * GiB))).toBe('ok'); // 0.3%, but 3 GiB
    expect(diskLevel(space(200 * MiB, 1000 * GiB))).toBe('warning'); // < 256 MiB
    expect(diskLevel(space(10 * MiB, 1000 * GiB))).toBe('error'); // < 16 MiB
  });

  it('a small filesystem is judged by its share, not by floors bigger than itself', () => {
    expect(diskLevel(space(30 * MiB, 40 * MiB))).toBe('ok');
    expect(diskLevel(space(1.5 * MiB, 40 * MiB))).toBe('warning'); // < 5% (2 MiB)
    expect(diskLevel(space(0.3 * MiB, 40 * MiB))).toBe('error'); // < 1% (409.6 KiB)
  });

  it('running out of inodes counts like running out of bytes', () => {
    expect(diskLevel(space(500 * GiB, 1000 * GiB, 5_000, 10_000_000))).toBe('warning');
    expect(diskLevel(space(500 * GiB, 1000 * GiB, 10, 10_000_000))).toBe('error');
    expect(diskLevel(space(500 * GiB, 1000 * GiB, 0, 0))).toBe('ok'); // no inode count (btrfs)
    expect(describeSpace(space(500 * GiB, 1000 * GiB, 10, 10_000_000))).toBe(
      '500.0 GiB free of 1000.0 GiB (50%), 10 of 10000000 inodes free',
    );
  });

  it('formats sizes the way the doctor prints them', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(409.6 * 1024)).toBe('409.6 KiB');
    expect(formatBytes(36.7 * MiB)).toBe('36.7 MiB');
    expect(describeSpace(space(0, 40 * MiB))).toBe('0 B free of 40.0 MiB (0%)');
  });
});
