import { describe, expect, it } from 'vitest';
import { POLECAT_NAMES, nextPoolName } from './polecat-pool.js';
import { assignmentBranch } from './spawn.js';

describe('polecat name pool', () => {
  it('takes the first free name, case-insensitively, then polecat-<n>', () => {
    expect(nextPoolName([])).toBe('Nux');
    expect(nextPoolName(['nux', 'Toast'])).toBe('Capable');
    expect(nextPoolName([...POLECAT_NAMES])).toBe(`polecat-${POLECAT_NAMES.length + 1}`);
    expect(nextPoolName([...POLECAT_NAMES, `polecat-${POLECAT_NAMES.length + 1}`])).toBe(
      `polecat-${POLECAT_NAMES.length + 2}`,
    );
  });

  it('names the branch of an assignment polecat/<name>/<issue>', () => {
    expect(assignmentBranch('Nux', 'wyv-12')).toBe('polecat/Nux/wyv-12');
  });
});
