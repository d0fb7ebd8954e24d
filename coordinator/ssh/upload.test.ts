import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { olderVersion } from '../machines.js';
import { EXTRACT, parseSums, tarParts } from './upload.js';

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

describe('the remote unpack-and-hash command', () => {
  it('unpacks the archive and prints every sha256, with OpenSSL and with sha256sum alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-unpack-'));
    try {
      const files = [
        { path: 'node', data: Buffer.from('binary'), mode: 0o755 },
        { path: 'node_modules/x/index.js', data: Buffer.from('js'), mode: 0o644 },
      ];
      const archive = Buffer.concat(tarParts(files));
      const expected = new Map(
        files.map((f) => [f.path, createHash('sha256').update(f.data).digest('hex')] as const),
      );
      // A PATH without openssl: the fallback.
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      for (const tool of ['sh', 'rm', 'mkdir', 'tar', 'sha256sum'])
        symlinkSync(
          execFileSync('sh', ['-c', `command -v ${tool}`])
            .toString()
            .trim(),
          join(bin, tool),
        );
      for (const path of [process.env.PATH ?? '', bin]) {
        const target = join(dir, 'out');
        const printed = execFileSync(
          'sh',
          ['-c', EXTRACT, 'sh', target, ...files.map((f) => f.path)],
          {
            input: archive,
            env: { PATH: path },
          },
        ).toString();
        expect(parseSums(printed)).toEqual(expected);
        expect(readFileSync(join(target, 'node_modules/x/index.js'), 'utf8')).toBe('js');
      }
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
