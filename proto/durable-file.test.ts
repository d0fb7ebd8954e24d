import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeZombie } from '../test/helpers/zombie.js';
import { GtError } from './errors.js';
import {
  claimPidFile,
  livePid,
  pidAlive,
  procState,
  readJsonFile,
  updateJsonFile,
  withFileLock,
  writeFileAtomic,
  writeFileAtomicSync,
} from './durable-file.js';

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gt-df-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('atomic writes', () => {
  it('replaces the whole file and leaves no temp files', async () => {
    const d = dir();
    const p = join(d, 'a.json');
    writeFileSync(p, 'old');
    await writeFileAtomic(p, 'new content');
    writeFileAtomicSync(join(d, 'b.json'), 'sync content');
    expect(readFileSync(p, 'utf8')).toBe('new content');
    expect(readFileSync(join(d, 'b.json'), 'utf8')).toBe('sync content');
    expect(readdirSync(d).sort()).toEqual(['a.json', 'b.json']);
  });

  it('concurrent writers never produce a torn file', async () => {
    const d = dir();
    const p = join(d, 'x.json');
    const bodies = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ writer: i, pad: 'x'.repeat(20_000) }),
    );
    await Promise.all(bodies.map((b) => writeFileAtomic(p, b)));
    expect(bodies).toContain(readFileSync(p, 'utf8'));
    expect(readdirSync(d)).toEqual(['x.json']);
  });
});

describe('file lock', () => {
  it('serialises read-modify-write: no lost update', async () => {
    const d = dir();
    const p = join(d, 'counter.json');
    writeFileSync(p, JSON.stringify({ n: 0 }));
    const schema = z.object({ n: z.number() }).strict();
    await Promise.all(
      Array.from({ length: 50 }, () => updateJsonFile(p, schema, (c) => ({ n: c.n + 1 }))),
    );
    expect(JSON.parse(readFileSync(p, 'utf8'))).toEqual({ n: 50 });
    expect(existsSync(`${p}.lock`)).toBe(false);
  });

  it('breaks a lock whose holder process is dead', async () => {
    const d = dir();
    const p = join(d, 'f');
    writeFileSync(`${p}.lock`, `999999@${(await import('node:os')).hostname()}`);
    const result = await withFileLock(p, async () => 'got it', { timeoutMs: 5_000 });
    expect(result).toBe('got it');
  });

  it('times out with a GtError naming the lock file when a live holder keeps it', async () => {
    const d = dir();
    const p = join(d, 'f');
    writeFileSync(`${p}.lock`, `${process.ppid}@${(await import('node:os')).hostname()}`);
    const err = await withFileLock(p, async () => 'never', { timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GtError);
    expect((err as GtError).code).toBe('GT_LOCK_TIMEOUT');
    expect((err as GtError).hint).toContain(`${p}.lock`);
  });
});

describe('readJsonFile', () => {
  const schema = z
    .object({
      version: z.literal(1),
      rigs: z.record(z.string(), z.object({ git_url: z.string() }).strict()),
    })
    .strict();

  it('names the file, the field path and the problem', async () => {
    const d = dir();
    const p = join(d, 'rigs.json');
    writeFileSync(p, JSON.stringify({ version: 1, rigs: { wyvern: { git_url: 42 } } }));
    const err = (await readJsonFile(p, schema).catch((e: unknown) => e)) as GtError;
    expect(err.code).toBe('GT_CONFIG_INVALID');
    expect(err.message).toMatch(new RegExp(`^${p}: rigs\\.wyvern\\.git_url: .*string`));
    expect(err.hint).toBeTruthy();
  });

  it('reports broken JSON and missing files as GtErrors', async () => {
    const d = dir();
    const p = join(d, 'town.json');
    writeFileSync(p, '{"version": 1,');
    await expect(readJsonFile(p, schema)).rejects.toMatchObject({
      code: 'GT_CONFIG_INVALID',
      message: expect.stringMatching(/\(root\): not valid JSON/),
    });
    await expect(readJsonFile(join(d, 'nope.json'), schema)).rejects.toMatchObject({
      code: 'GT_CONFIG_MISSING',
    });
  });

  it('rejects unknown keys (strict schemas)', async () => {
    const d = dir();
    const p = join(d, 'rigs.json');
    writeFileSync(p, JSON.stringify({ version: 1, rigs: {}, extra: true }));
    await expect(readJsonFile(p, schema)).rejects.toMatchObject({
      message: expect.stringMatching(/\(root\): .*extra/),
    });
  });
});

describe('pid files', () => {
  it('refuses a second live claimant and replaces a stale one', () => {
    const d = dir();
    const pid = join(d, 'x.pid');
    writeFileSync(pid, '999999\n');
    claimPidFile(pid, 'x', 'hint');
    expect(readFileSync(pid, 'utf8').trim()).toBe(String(process.pid));
    writeFileSync(pid, `${process.ppid}\n`);
    expect(() => claimPidFile(pid, 'the thing', 'stop it')).toThrow(/the thing is already running/);
  });

  it('a zombie is not alive: its pid file is stale and is replaced', async () => {
    const zombie = await makeZombie();
    try {
      expect(procState(zombie.pid)).toBe('Z');
      expect(pidAlive(zombie.pid)).toBe(false);
      const pid = join(dir(), 'z.pid');
      writeFileSync(pid, `${zombie.pid}\n`);
      expect(livePid(pid)).toBeUndefined();
      claimPidFile(pid, 'x', 'hint');
      expect(readFileSync(pid, 'utf8').trim()).toBe(String(process.pid));
    } finally {
      zombie.release();
    }
  });
});
