// A machine named on the command line must be in config/federation.json: a usage error (exit 2)
// naming the known machines otherwise (gt machine drain, gt machine reassign).
import { readFederation } from '../../coordinator/index.js';
import { GtError } from '../../proto/index.js';

export async function requireKnownMachine(townRoot: string, name: string): Promise<void> {
  const known = Object.keys((await readFederation(townRoot)).machines);
  if (!known.includes(name))
    throw new GtError('GT_USAGE', `no machine named "${name}" in config/federation.json`, {
      hint: `known machines: ${known.join(', ')}`,
    });
}
