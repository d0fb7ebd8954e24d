// The dependency direction (cli → coordinator → proto ← node-agent) is a lint rule, not a
// convention: prove the rule fires, so a resolver change can never silently disable it.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

async function lintProbe(folder: string, source: string): Promise<string[]> {
  const file = join(REPO_ROOT, folder, `boundary-probe-${process.pid}.ts`);
  writeFileSync(file, source);
  try {
    const eslint = new ESLint({ cwd: REPO_ROOT });
    const [result] = await eslint.lintFiles([file]);
    return (result?.messages ?? [])
      .filter((m) => m.ruleId === 'import-x/no-restricted-paths')
      .map((m) => m.message);
  } finally {
    rmSync(file, { force: true });
  }
}

describe('import boundaries', () => {
  it('node-agent may not import coordinator, nor reach past proto/index.ts', async () => {
    const messages = await lintProbe(
      'node-agent',
      "import { createCoordinator } from '../coordinator/index.js';\nimport { GtError } from '../proto/errors.js';\nexport const probe = [createCoordinator, GtError];\n",
    );
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/node-agent must not import coordinator/);
    expect(messages[1]).toMatch(/public surface/);
  });

  it('coordinator may not import node-agent; proto imports nothing of ours; cli may import all indexes', async () => {
    expect(
      await lintProbe(
        'coordinator',
        "import { createNodeAgent } from '../node-agent/index.js';\nexport const probe = createNodeAgent;\n",
      ),
    ).toHaveLength(1);
    expect(
      await lintProbe(
        'proto',
        "import { MachineRegistry } from '../coordinator/index.js';\nexport const probe = MachineRegistry;\n",
      ),
    ).toHaveLength(1);
    expect(
      await lintProbe(
        'cli',
        "import { createNodeAgent } from '../node-agent/index.js';\nimport { MachineRegistry } from '../coordinator/index.js';\nexport const probe = [createNodeAgent, MachineRegistry];\n",
      ),
    ).toEqual([]);
  });
});
