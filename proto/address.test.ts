import { describe, expect, it } from 'vitest';
import { GtError } from './errors.js';
import { formatAddress, parseAddress, nameProblem, assertName } from './address.js';

describe('parseAddress: valid forms', () => {
  it.each([
    ['mayor', { role: 'mayor' }],
    ['overseer', { role: 'overseer' }],
    ['wyvern/witness', { role: 'witness', rig: 'wyvern' }],
    ['wyvern/refinery', { role: 'refinery', rig: 'wyvern' }],
    ['wyvern/mayor', { role: 'mayor', rig: 'wyvern' }],
    ['wyvern/Nux', { role: 'polecat', rig: 'wyvern', name: 'Nux' }],
    ['wyvern/polecats/Nux', { role: 'polecat', rig: 'wyvern', name: 'Nux' }],
    ['wyvern/plugins/merge-oracle', { role: 'plugin', rig: 'wyvern', name: 'merge-oracle' }],
    ['build-2:mayor', { machine: 'build-2', role: 'mayor' }],
    ['gpu1:wyvern/Toast', { machine: 'gpu1', role: 'polecat', rig: 'wyvern', name: 'Toast' }],
    [
      'gpu1:wyvern/plugins/plan-oracle',
      { machine: 'gpu1', role: 'plugin', rig: 'wyvern', name: 'plan-oracle' },
    ],
    ['my.rig/worker_1', { role: 'polecat', rig: 'my.rig', name: 'worker_1' }],
  ])('%s', (input, expected) => {
    expect(parseAddress(input)).toEqual(expected);
  });

  it('round-trips through formatAddress (canonical forms)', () => {
    for (const input of [
      'mayor',
      'overseer',
      'r/witness',
      'r/refinery',
      'r/mayor',
      'r/Nux',
      'r/plugins/p',
      'm1:r/Nux',
      'm1:mayor',
    ]) {
      expect(formatAddress(parseAddress(input))).toBe(input);
    }
    expect(formatAddress(parseAddress('r/polecats/Nux'))).toBe('r/Nux');
    expect(formatAddress(parseAddress('R/WITNESS'))).toBe('R/witness');
  });
});

function problemOf(input: string): string {
  try {
    parseAddress(input);
  } catch (err) {
    expect(err).toBeInstanceOf(GtError);
    expect((err as GtError).code).toBe('GT_INVALID_ADDRESS');
    expect((err as GtError).hint).toBeTruthy();
    return (err as GtError).message;
  }
  throw new Error(`expected "${input}" to be rejected`);
}

describe('parseAddress: each class of invalid input has a precise error', () => {
  it.each([
    ['', /it is empty/],
    ['wyvern/', /empty part/],
    ['/Nux', /empty part/],
    ['wyvern//Nux', /empty part/],
    [':mayor', /machine name before ":" is empty/],
    ['m1:', /nothing follows the machine name/],
    ['a:b:mayor', /more than one ":"/],
    ['wyvern/..', /"\." or "\.\." part/],
    ['../etc', /"\." or "\.\." part/],
    ['wyvern/a..b', /contains "\.\."/],
    ['wyvern', /"wyvern" is not a town-level role/],
    ['witness', /not a town-level role/],
    ['wyvern/plugins', /needs a name after it/],
    ['wyvern/polecats', /needs a name after it/],
    ['wyvern/crew/Nux', /unknown role word "crew"/],
    ['wyvern/plugins/a/b', /no address has more than 3/],
    ['wyvern/overseer', /town-level/],
    ['Big_Machine:mayor', /machine name "Big_Machine"/],
    ['wyvern/-x', /must start with a letter or digit/],
    ['wyvern/a b', /whitespace/],
    ['wyvern/a$b', /must start with a letter or digit and contain only/],
    [`wyvern/${'n'.repeat(65)}`, /65 characters long \(at most 64\)/],
    [`${'m'.repeat(64)}:mayor`, /64 characters long \(at most 63\)/],
    [`r/${'x'.repeat(300)}`, /at most 256/],
    ['mayor/witness', /reserved role word/],
  ])('%j', (input, pattern) => {
    expect(problemOf(input)).toMatch(pattern);
  });
});

describe('names', () => {
  it('reports the problem with each bad name', () => {
    expect(nameProblem('rig', 'ok-name')).toBeUndefined();
    expect(nameProblem('rig', 'witness')).toMatch(/reserved/);
    expect(nameProblem('polecat', 'a/b')).toMatch(/slash/);
    expect(nameProblem('plugin', '')).toMatch(/empty/);
    expect(nameProblem('machine', 'UPPER')).toMatch(/lowercase/);
    expect(() => assertName('rig', '..')).toThrow(/invalid rig name/);
  });
});
