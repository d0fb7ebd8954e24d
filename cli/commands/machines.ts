/**
 * `gt machine …`: the fleet's machines.
 *
 * `machineCommand(program)` returns the `machine` command group, creating it on first call and
 * returning the same group afterwards. Other subcommands (add / provision / upgrade) join it the
 * same way: `machineCommand(program).command('add')…`. This module stays light at startup: the
 * actions load their code when they run.
 *
 *   gt machine list [--json]             name, type, address, state, agent version, polecats/max,
 *                                        labels, last seen — every machine asked in parallel
 *   gt machine status NAME [--json]      the same plus platform, disk, load, clock offset, rigs
 *                                        homed there and its sessions
 *   gt machine remove NAME [--force]     drop it from config/federation.json; refused while it
 *                                        homes rigs or runs polecats (or cannot be asked)
 *   gt machine drain NAME [--undo]       place no new polecats there; running ones finish
 *   gt machine shrink [--dry-run]        delete the machines elastic swarms grew, when due
 *   gt machine reassign NAME [--yes]     a lost machine's issues back to ready (asks first)
 */
import type { Command } from 'commander';

type Action = (...args: unknown[]) => Promise<void>;
const lazy =
  (pick: (m: typeof import('./machine-actions.js')) => Action) =>
  async (...args: unknown[]) =>
    pick(await import('./machine-actions.js'))(...args);

export function machineCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'machine');
  if (existing !== undefined) return existing;
  const machine = program
    .command('machine')
    .description('the machines of the fleet (config/federation.json)');
  machine
    .command('list')
    .description('every machine: type, address, state, agent version, polecats, last seen')
    .option('--json', 'print as JSON')
    .action(lazy((m) => m.machineList));
  machine
    .command('status')
    .description('one machine: platform, disk, load, clock offset, rigs homed there, sessions')
    .argument('<name>', 'machine name')
    .option('--json', 'print as JSON')
    .action(lazy((m) => m.machineStatus));
  machine
    .command('remove')
    .description('remove a machine from the fleet (refused while it homes rigs or runs polecats)')
    .argument('<name>', 'machine name')
    .option('--force', 'remove it anyway; what it holds stays there, unmanaged')
    .option('--delete', 'a gcp machine: also delete its instance (asks first on a terminal)')
    .option('--yes', 'with --delete: delete without asking (needed without a terminal)')
    .option('--json', 'print the result as JSON')
    .action(lazy((m) => m.machineRemove));
  machine
    .command('drain')
    .description('place no new polecats on a machine; the running ones finish (--undo to end it)')
    .argument('<name>', 'machine name')
    .option('--undo', 'end the drain: new polecats may be placed there again')
    .option('--json', 'print the result as JSON')
    .action(async (...args: unknown[]) =>
      (await import('./machine-drain.js')).machineDrain(...args),
    );
  machine
    .command('shrink')
    .description(
      'delete the machines elastic swarms grew whose swarm is complete and idle time is up (the daemon does it too)',
    )
    .option('--dry-run', 'say what would be deleted, delete nothing')
    .option('--json', 'print the result as JSON')
    .action(lazy((m) => m.machineShrink));
  machine
    .command('reassign')
    .description(
      "a lost machine's issues back to ready on their rigs' homes (branches kept; asks first)",
    )
    .argument('<name>', 'machine name')
    .option('--yes', 'do not ask (needed without a terminal)')
    .option('--json', 'print the result as JSON')
    .action(async (...args: unknown[]) =>
      (await import('./machine-reassign.js')).machineReassign(...args),
    );
  return machine;
}
