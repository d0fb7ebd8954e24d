import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { olderVersion } from '../machines.js';
import { tarParts } from './upload.js';

describe('the upload archive', () => {
  it('is a ustar archive GNU tar unpacks byte for byte, long paths and modes included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-tar-'));
    try {
      const long = `${'d'.repeat(90)}/${'e'.repeat(60)}/file.node`;
      const files = [
        { path: 'node', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
        { path: long, data: Buffer.alloc(1000, 3), mode: 0o644 },
        { path: 'empty', data: Buffer.alloc(0), mode: 0o644 },
      ];
      writeFileSync(join(dir, 'a.tar'), Buffer.concat(tarParts(files)));
      execFileSync('tar', ['-x', '-f', 'a.tar', '--no-same-owner'], { cwd: dir });
      for (const f of files) expect(readFileSync(join(dir, f.path))).toEqual(f.data);
      expect(execFileSync('stat', ['-c', '%a', 'node'], { cwd: dir }).toString().trim()).toBe(
        '755',
      );
      expect(() => tarParts([{ path: '../x', data: Buffer.alloc(1), mode: 0o644 }])).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('olderVersion', () => {
  it('compares dotted release numbers', () => {
    expect(olderVersion('0.0.1', '0.1.0')).toBe(true);
    expect(olderVersion('0.10.0', '0.9.9')).toBe(false);
    expect(olderVersion('1.2.3', '1.2.3')).toBe(false);
    expect(olderVersion('1.2', '1.2.1')).toBe(true);
    expect(olderVersion('0.1.0-abc', '0.1.0')).toBe(false);
  });
});
