// GetGitState over the NodeAgent contract: the refinery's clone, a dirty + ahead clone, and the
// errors for agents without a clone.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GtError } from '../../proto/index.js';
import { NodeAgent, createInProcessClient } from '../../proto/index.js';
import { createNodeAgent } from '../../node-agent/index.js';
import { git, makeBareRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/tmp.js';

describe('GetGitState', () => {
  it('reports branch, head, dirty files and ahead/behind of an agent clone', async () => {
    const base = tempDir();
    const town = join(base, 'town');
    const bare = makeBareRepo(join(base, 'repo'), { extraCommits: 1 });
    const agent = createNodeAgent({ townRoot: town });
    const client = createInProcessClient(NodeAgent, agent.impl);
    await client.installTown({ root: town, name: 't', force: false });
    await client.addRig({ name: 'alpha', gitUrl: bare, prefix: '' });

    const clean = await client.getGitState({ address: 'alpha/refinery' });
    expect(clean).toMatchObject({
      path: join(town, 'alpha', 'refinery', 'rig'),
      branch: 'main',
      clean: true,
      ahead: 0,
      behind: 0,
      hasUpstream: true,
      dirtyFiles: [],
      unpushedCommits: [],
      stashes: 0,
    });
    expect(clean.head).toBe(git(bare, 'rev-parse', 'main'));

    const mayorClone = join(town, 'alpha', 'mayor', 'rig');
    writeFileSync(join(mayorClone, 'new.txt'), 'x');
    git(mayorClone, 'add', 'new.txt');
    git(mayorClone, 'commit', '-q', '-m', 'local work');
    writeFileSync(join(mayorClone, 'README.md'), 'changed\n');
    const dirty = await client.getGitState({ address: 'alpha/mayor' });
    expect(dirty).toMatchObject({ clean: false, ahead: 1, behind: 0, dirtyFiles: ['README.md'] });
    expect(dirty.unpushedCommits).toEqual([expect.stringMatching(/^[0-9a-f]+ local work$/)]);

    await expect(client.getGitState({ address: 'alpha/witness' })).rejects.toMatchObject({
      code: 'GT_INVALID_ARGUMENT',
    });
    const missing = (await client
      .getGitState({ address: 'alpha/Nobody' })
      .catch((e: unknown) => e)) as GtError;
    expect(missing.code).toBe('GT_AGENT_NOT_FOUND');
    await agent.close();
  });
});
