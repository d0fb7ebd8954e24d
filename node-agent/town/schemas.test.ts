import { describe, expect, it } from 'vitest';
import { GtError, parseJsonText } from '../../proto/index.js';
import {
  AgentStateSchema,
  FederationFileSchema,
  RigConfigSchema,
  RigsRegistrySchema,
  TownConfigSchema,
  derivePrefix,
  idleState,
} from './schemas.js';

const T = '2024-01-15T10:30:00Z';

function problem(file: string, text: string, schema: Parameters<typeof parseJsonText>[2]): string {
  try {
    parseJsonText(file, text, schema);
  } catch (err) {
    expect(err).toBeInstanceOf(GtError);
    expect((err as GtError).code).toBe('GT_CONFIG_INVALID');
    return (err as GtError).message;
  }
  throw new Error('expected a validation error');
}

describe('town.json', () => {
  it('accepts the seed example', () => {
    const town = { type: 'town', version: 1, name: 'stevey-gastown', created_at: T };
    expect(TownConfigSchema.parse(town)).toEqual(town);
  });
  it('names the file and field of each problem', () => {
    const text = JSON.stringify({ type: 'town', version: 2, name: 'x', created_at: T });
    expect(problem('config/town.json', text, TownConfigSchema)).toMatch(
      /^config\/town\.json: version: /,
    );
    const typo = JSON.stringify({ type: 'town', version: 1, nme: 'x', created_at: T });
    const message = problem('config/town.json', typo, TownConfigSchema);
    expect(message).toContain('config/town.json: name:');
    expect(message).toContain('config/town.json: (root): Unrecognized key: "nme"');
  });
  it('fleet: heartbeat interval, lost_after and reassign_lost; a lost_after inside the silence is refused', () => {
    const fleet = { heartbeat_interval_ms: 200, lost_after_ms: 2_000, reassign_lost: true };
    const town = { type: 'town', version: 1, name: 'x', created_at: T, fleet };
    expect(TownConfigSchema.parse(town)).toEqual(town);
    const short = JSON.stringify({
      ...town,
      fleet: { heartbeat_interval_ms: 1_000, lost_after_ms: 3_000 },
    });
    expect(problem('config/town.json', short, TownConfigSchema)).toBe(
      'config/town.json: fleet.lost_after_ms: must be longer than the 3000 ms after which a machine is disconnected (3 heartbeat intervals)',
    );
    const typo = JSON.stringify({ ...town, fleet: { lost_after: 60_000 } });
    expect(problem('config/town.json', typo, TownConfigSchema)).toContain(
      'config/town.json: fleet: Unrecognized key: "lost_after"',
    );
  });
  it('rejects a non-ISO created_at', () => {
    const text = JSON.stringify({ type: 'town', version: 1, name: 'x', created_at: 'yesterday' });
    expect(problem('t.json', text, TownConfigSchema)).toContain('t.json: created_at:');
  });
});

describe('rigs.json', () => {
  it('accepts the seed example plus prefix and machine', () => {
    const registry = {
      version: 1,
      rigs: {
        wyvern: { git_url: 'https://github.com/steveyegge/wyvern', added_at: T },
        beads: { git_url: 'git@host:b.git', added_at: T, prefix: 'bd', machine: 'build-2' },
      },
    };
    expect(RigsRegistrySchema.parse(registry)).toEqual(registry);
  });
  it('rejects bad rig names and entries with the path to the rig', () => {
    const entry = JSON.stringify({ version: 1, rigs: { ok: { added_at: T } } });
    expect(problem('config/rigs.json', entry, RigsRegistrySchema)).toContain(
      'config/rigs.json: rigs.ok.git_url:',
    );
    const name = JSON.stringify({ version: 1, rigs: { 'a/b': { git_url: 'x', added_at: T } } });
    expect(problem('config/rigs.json', name, RigsRegistrySchema)).toBe(
      'config/rigs.json: rigs.a/b: the rig name "a/b" contains a slash',
    );
  });
  it('rejects reserved words as rig names', () => {
    const text = JSON.stringify({ version: 1, rigs: { mayor: { git_url: 'x', added_at: T } } });
    expect(problem('r.json', text, RigsRegistrySchema)).toContain('reserved role word');
  });
  it('rejects a bad prefix', () => {
    const text = JSON.stringify({
      version: 1,
      rigs: { w: { git_url: 'x', added_at: T, prefix: 'Bad-Prefix' } },
    });
    expect(problem('r.json', text, RigsRegistrySchema)).toContain('r.json: rigs.w.prefix:');
  });
});

describe('rig config.json', () => {
  const seed = {
    type: 'rig',
    version: 1,
    name: 'wyvern',
    git_url: 'https://github.com/steveyegge/wyvern',
    beads: { prefix: 'wyv', sync_remote: 'origin' },
  };
  it('accepts the seed example and the optional fields', () => {
    expect(RigConfigSchema.parse(seed)).toEqual(seed);
    const more = { ...seed, default_branch: 'main', test_command: 'npm test', max_polecats: 4 };
    expect(RigConfigSchema.parse(more)).toEqual(more);
  });
  it('requires beads.prefix and rejects unknown keys', () => {
    const text = JSON.stringify({ ...seed, beads: {}, colour: 'red' });
    const message = problem('wyvern/config.json', text, RigConfigSchema);
    expect(message).toContain('wyvern/config.json: beads.prefix:');
    expect(message).toContain('Unrecognized key: "colour"');
  });
  it('takes test_timeout_ms as a positive whole number of milliseconds', () => {
    expect(RigConfigSchema.parse({ ...seed, test_timeout_ms: 600_000 }).test_timeout_ms).toBe(
      600_000,
    );
    for (const bad of [0, -5, 1.5, '10m'])
      expect(
        problem(
          'wyvern/config.json',
          JSON.stringify({ ...seed, test_timeout_ms: bad }),
          RigConfigSchema,
        ),
      ).toMatch(/^wyvern\/config\.json: test_timeout_ms: /);
  });
});

describe('federation.json (permissive local view)', () => {
  it('accepts the initial file and extra machine fields', () => {
    const fed = {
      version: 1,
      machines: { local: { type: 'local' }, b: { type: 'ssh', host: 'h', port: 22 } },
    };
    expect(FederationFileSchema.parse(fed)).toEqual(fed);
  });
  it('rejects an unknown machine type', () => {
    const text = JSON.stringify({ version: 1, machines: { x: { type: 'ftp' } } });
    expect(problem('f.json', text, FederationFileSchema)).toContain('f.json: machines.x.type:');
  });
});

describe('state.json', () => {
  it('accepts an idle state and a working one with issue/session/epoch', () => {
    expect(AgentStateSchema.parse(idleState('witness'))).toMatchObject({ state: 'idle' });
    const working = {
      version: 1,
      role: 'polecat',
      state: 'working',
      issue: 'wyv-12',
      session: 'gt-wyvern-Nux',
      epoch: 3,
      updated_at: T,
      last_activity: T,
    };
    expect(AgentStateSchema.parse(working)).toEqual(working);
  });
  it('rejects an unknown state word', () => {
    const text = JSON.stringify({ version: 1, role: 'polecat', state: 'busy', updated_at: T });
    expect(problem('s.json', text, AgentStateSchema)).toContain('s.json: state:');
  });
});

describe('derivePrefix', () => {
  it('takes the first three letters/digits, lowercase', () => {
    expect(derivePrefix('wyvern')).toBe('wyv');
    expect(derivePrefix('My-App')).toBe('mya');
    expect(derivePrefix('ab')).toBe('ab');
    expect(derivePrefix('9lives')).toBe('liv');
    expect(derivePrefix('x')).toBe('rx');
    expect(derivePrefix('42')).toBe('r42');
  });
});
