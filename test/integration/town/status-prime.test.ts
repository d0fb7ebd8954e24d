import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { primeContext, townStatus, writeAgentHome } from '../../../node-agent/index.js';
import { git } from '../../helpers/git.js';
import { makeTownWithRig } from './fixtures.js';

describe('townStatus', () => {
  it('reports the town, its rigs and every agent with its recorded state', async () => {
    const { root, rig } = await makeTownWithRig();
    const rigDir = join(root, 'wyvern');
    git(join(rigDir, 'polecats'), 'clone', '-q', join(rigDir, 'refinery/rig'), 'Nux');
    await writeAgentHome({
      home: join(rigDir, 'polecats/Nux'),
      template: 'polecat',
      facts: { town: 'testtown', rig: 'wyvern', name: 'Nux' },
    });
    writeFileSync(
      join(rigDir, 'polecats/Nux/state.json'),
      JSON.stringify({
        version: 1,
        role: 'polecat',
        state: 'working',
        issue: 'wyv-1',
        epoch: 2,
        updated_at: '2026-01-01T00:00:00Z',
      }),
    );
    // Agent files never make a polecat's clone dirty.
    expect(git(join(rigDir, 'polecats/Nux'), 'status', '--porcelain')).toBe('');
    mkdirSync(join(rigDir, 'plugins/merge-oracle'));
    writeFileSync(join(rigDir, 'witness/state.json'), '{"version": 1, "state": "dancing"}');
    rmSync(join(rigDir, 'refinery/state.json'));

    const status = await townStatus(root);
    expect(status).toMatchObject({ name: 'testtown', root, created_at: expect.any(String) });
    expect(status.mayor).toMatchObject({ role: 'mayor', address: 'mayor', state: 'idle' });
    expect(status.rigs).toHaveLength(1);
    const [wyvern] = status.rigs;
    expect(wyvern).toMatchObject({ ...rig, polecats: 1 });
    const brief = wyvern?.agents.map((a) => [a.address, a.role, a.state, a.issue]);
    expect(brief).toEqual([
      ['wyvern/mayor', 'mayor', 'idle', undefined],
      ['wyvern/witness', 'witness', 'unknown', undefined],
      ['wyvern/refinery', 'refinery', 'unknown', undefined],
      ['wyvern/Nux', 'polecat', 'working', 'wyv-1'],
      ['wyvern/plugins/merge-oracle', 'plugin', 'idle', undefined],
    ]);
    const witness = wyvern?.agents[1];
    expect(witness?.problem).toContain(`${join(rigDir, 'witness/state.json')}: role:`);
    expect(witness?.problem).toContain(`${join(rigDir, 'witness/state.json')}: state:`);
    expect(wyvern?.agents[2]?.problem).toBe(
      `${join(rigDir, 'refinery/state.json')}: file is missing`,
    );
    expect(wyvern?.agents[3]).toMatchObject({
      name: 'Nux',
      epoch: 2,
      home: join(rigDir, 'polecats/Nux'),
    });
    expect(JSON.parse(JSON.stringify(status))).toMatchObject({ name: 'testtown' });
  });
});

describe('primeContext', () => {
  it('detects the role of every kind of directory', async () => {
    const { root } = await makeTownWithRig();
    const r = join(root, 'wyvern');
    git(join(r, 'polecats'), 'clone', '-q', join(r, 'refinery/rig'), 'Toast');
    mkdirSync(join(r, 'polecats/Toast/src/deep'), { recursive: true });
    mkdirSync(join(r, 'plugins/merge-oracle'), { recursive: true });
    const cases: Array<[string, string, string, string | undefined, string]> = [
      // cwd, role, address, name, home
      [root, 'town', 'overseer', undefined, root],
      [join(root, 'config'), 'town', 'overseer', undefined, root],
      [join(root, 'mayor'), 'mayor', 'mayor', undefined, join(root, 'mayor')],
      [r, 'rig', 'overseer', undefined, r],
      [join(r, '.beads'), 'rig', 'overseer', undefined, r],
      [join(r, 'refinery'), 'refinery', 'wyvern/refinery', undefined, join(r, 'refinery')],
      [join(r, 'refinery/rig'), 'refinery', 'wyvern/refinery', undefined, join(r, 'refinery')],
      [join(r, 'witness'), 'witness', 'wyvern/witness', undefined, join(r, 'witness')],
      [join(r, 'mayor/rig'), 'rig-mayor', 'wyvern/mayor', undefined, join(r, 'mayor')],
      [join(r, 'polecats/Toast'), 'polecat', 'wyvern/Toast', 'Toast', join(r, 'polecats/Toast')],
      [
        join(r, 'polecats/Toast/src/deep'),
        'polecat',
        'wyvern/Toast',
        'Toast',
        join(r, 'polecats/Toast'),
      ],
      [
        join(r, 'plugins/merge-oracle'),
        'plugin',
        'wyvern/plugins/merge-oracle',
        'merge-oracle',
        join(r, 'plugins/merge-oracle'),
      ],
    ];
    for (const [cwd, role, address, name, home] of cases) {
      const ctx = await primeContext({ cwd });
      expect({ cwd, role: ctx.role, address: ctx.address, name: ctx.name, home: ctx.home }).toEqual(
        {
          cwd,
          role,
          address,
          name,
          home,
        },
      );
      expect(ctx.townRoot).toBe(root);
      expect(ctx.text).toContain('## Where you are');
      expect(ctx.text).toContain(`GT_TOWN=${root}`);
    }
  });

  it('gives a polecat its prompt, its clone and BEADS_DIR', async () => {
    const { root } = await makeTownWithRig();
    const r = join(root, 'wyvern');
    git(join(r, 'polecats'), 'clone', '-q', join(r, 'refinery/rig'), 'Nux');
    const ctx = await primeContext({ townRoot: root, cwd: join(r, 'polecats/Nux') });
    expect(ctx.env).toEqual({
      GT_TOWN: root,
      GT_ROLE: 'polecat',
      GT_RIG: 'wyvern',
      BEADS_DIR: join(r, '.beads'),
      GT_POLECAT: 'Nux',
      GT_ADDRESS: 'wyvern/Nux',
      BD_ACTOR: 'wyvern/Nux',
    });
    expect(ctx.workDir).toBe(join(r, 'polecats/Nux'));
    expect(ctx.text).toContain('You are polecat "Nux" in rig "wyvern" (town "testtown")');
    expect(ctx.text).toContain(`BEADS_DIR=${join(r, '.beads')}`);
    expect(ctx.text).toContain('- beads issue prefix: wyv');
    const refinery = await primeContext({ cwd: join(r, 'refinery') });
    expect(refinery.workDir).toBe(join(r, 'refinery/rig'));
    expect(refinery.text).toContain('authoritative main clone');
    const rigRoot = await primeContext({ cwd: r });
    expect(rigRoot.text).toContain('a container, not a git clone');
    expect(rigRoot.env).toEqual({
      GT_TOWN: root,
      GT_ROLE: 'rig',
      GT_RIG: 'wyvern',
      BEADS_DIR: join(r, '.beads'),
    });
  });
});
