/**
 * `gt machine drain NAME [--undo]`: no new polecats are placed on the machine (gt spawn and gt
 * swarm start for rigs homed there are refused, naming the undo); polecats already running there
 * finish. Recorded in config/federation.json (atomic, locked), so a running daemon sees it at
 * once. `gt machine list` shows "draining".
 */
import { updateFederation } from '../../coordinator/index.js';
import { out, printJson } from '../output.js';
import { resolveTownRoot } from '../town-root.js';
import { requireKnownMachine } from './machine-names.js';
import { optionsOf } from './context.js';

export async function machineDrain(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  const townRoot = resolveTownRoot(opts.town);
  await requireKnownMachine(townRoot, name);
  const draining = opts.undo !== true;
  let changed = false;
  await updateFederation(townRoot, (fed) => {
    const machine = fed.machines[name];
    if (machine === undefined) return fed;
    changed = (machine.draining === true) !== draining;
    const { draining: _old, ...rest } = machine;
    return {
      ...fed,
      machines: { ...fed.machines, [name]: draining ? { ...rest, draining: true } : rest },
    };
  });
  if (opts.json === true) return printJson({ name, draining, changed });
  out(
    draining
      ? `${name}: draining${changed ? '' : ' (already)'} — no new polecats are placed there; the running ones finish (undo: gt machine drain ${name} --undo)`
      : `${name}: ${changed ? 'no longer draining' : 'was not draining'} — new polecats may be placed there`,
  );
}
