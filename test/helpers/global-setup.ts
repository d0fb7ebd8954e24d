import { existsSync } from 'node:fs';
import { join } from 'node:path';

// e2e tests run the built binaries: fail early with a clear message if the build is missing.
export default function setup(): void {
  const gt = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'gt.js');
  if (!existsSync(gt))
    throw new Error(`e2e tests need the build: ${gt} is missing; run \`npm run build\` first`);
}
