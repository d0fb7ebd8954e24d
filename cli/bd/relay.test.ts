import { describe, expect, it } from 'vitest';
import { GtError } from '../../proto/index.js';
import { takeRig } from './relay.js';

describe('takeRig', () => {
  it('takes the first --rig NAME or --rig=NAME out of bd’s arguments, wherever it stands', () => {
    expect(takeRig(['--rig', 'app', 'list', '--json'])).toEqual({
      rig: 'app',
      rest: ['list', '--json'],
    });
    expect(takeRig(['create', 'A title', '--rig=app', '-p', '1'])).toEqual({
      rig: 'app',
      rest: ['create', 'A title', '-p', '1'],
    });
    expect(takeRig(['list'])).toEqual({ rig: undefined, rest: ['list'] });
  });

  it('leaves everything after -- alone, and refuses --rig without a name', () => {
    expect(takeRig(['create', '--', '--rig', 'x'])).toEqual({
      rig: undefined,
      rest: ['create', '--', '--rig', 'x'],
    });
    for (const args of [
      ['list', '--rig'],
      ['--rig', '--json', 'list'],
    ]) {
      const err = (() => {
        try {
          takeRig(args);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(GtError);
      expect((err as GtError).code).toBe('GT_USAGE');
    }
  });
});
