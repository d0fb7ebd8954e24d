// Global setup of the real-agents suite: the build must be there, and the real CLIs are
// installed (test/real-agents/install.sh) when missing. A failed install (no registry) does not
// fail the run: the tests find the CLIs missing and skip, saying why.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  const gt = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'gt.js');
  if (!existsSync(gt))
    throw new Error(
      `the real-agents suite needs the build: ${gt} is missing; run \`npm run build\``,
    );
  try {
    execFileSync(join(import.meta.dirname, 'install.sh'), { stdio: 'inherit', timeout: 600_000 });
  } catch (err) {
    console.warn(`real-agents: installing the CLIs failed (${String(err)}); their tests will skip`);
  }
}
