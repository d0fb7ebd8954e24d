import { describe, expect, it } from 'vitest';
import { hashId, hashLengthFor, nextChildId, resolveIdAmong } from './ids.js';

describe('beads ids', () => {
  it('grows the hash with the number of issues', () => {
    expect(hashLengthFor(0)).toBe(3);
    expect(hashLengthFor(159)).toBe(3);
    expect(hashLengthFor(500)).toBe(4);
    expect(hashLengthFor(5_000)).toBe(5);
    expect(hashLengthFor(1_000_000)).toBe(8);
  });

  it('hashes content, actor, time and nonce into base36', () => {
    const input = {
      prefix: 'gt',
      title: 't',
      description: '',
      actor: 'a',
      createdAt: 'x',
      nonce: 0,
      length: 5,
    };
    const id = hashId(input);
    expect(id).toMatch(/^gt-[0-9a-z]{5}$/);
    expect(hashId(input)).toBe(id);
    expect(hashId({ ...input, nonce: 1 })).not.toBe(id);
  });

  it('numbers children one past the largest suffix', () => {
    expect(nextChildId('gt-abc', [])).toBe('gt-abc.1');
    expect(nextChildId('gt-abc', ['gt-abc.1', 'gt-abc.7', 'gt-abc.2.1', 'gt-abcd.9'])).toBe(
      'gt-abc.8',
    );
  });

  it('resolves exact, prefixed, then unique substring; lists ambiguous candidates', () => {
    const ids = ['gt-abc', 'gt-abd', 'gt-xyz'];
    expect(resolveIdAmong('gt-abc', 'gt', ids)).toBe('gt-abc');
    expect(resolveIdAmong('xyz', 'gt', ids)).toBe('gt-xyz');
    expect(resolveIdAmong('yz', 'gt', ids)).toBe('gt-xyz');
    expect(() => resolveIdAmong('ab', 'gt', ids)).toThrow(
      /ambiguous id "ab" matches 2 issues: gt-abc, gt-abd/,
    );
    expect(() => resolveIdAmong('qq', 'gt', ids)).toThrow(/no issue found/);
  });
});
