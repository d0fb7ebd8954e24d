/**
 * `gt machine add`, `gt machine provision` and `gt machine upgrade`: the SSH side of the machine commands. Registered
 * into the `machine` command group (machineCommand in machines.ts); the actions
 * load lazily from machine-add-actions.ts.
 */
import type { Command } from 'commander';
import { addGcpOptions, machineAddAction } from './machine-gcp.js';
import { machineCommand } from './machines.js';

type Action = (...args: unknown[]) => Promise<void>;
const lazy =
  (name: 'machineAdd' | 'machineProvision'): Action =>
  async (...args) =>
    (await import('./machine-add-actions.js'))[name](...args);

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerMachineAddCommands(program: Command): void {
  const machine = machineCommand(program);
  const add = machine
    .command('add')
    .description(
      'add a machine reached over ssh (or a gcp instance), and install the node agent on it',
    )
    .argument('<name>', 'machine name (lowercase letters, digits, inner hyphens)')
    .option('--ssh <user@host[:port]>', 'ssh address of the machine')
    .option('--identity <file>', 'private key to log in with (default: ssh-agent, ~/.ssh/id_*)')
    .option('--town-path <path>', 'absolute town path on the machine (default: ~/gastown there)')
    .option('--max-polecats <n>', 'most polecats to run there')
    .option('--label <k=v>', 'a label (repeatable)', collect)
    .option('--accept-host-key', "record the machine's host key on first contact")
    .option('--no-provision', 'only record and contact the machine; do not install the agent')
    .option('--json', 'print the result as JSON');
  addGcpOptions(add);
  add.action(machineAddAction(lazy('machineAdd')));
  machine
    .command('upgrade')
    .description(
      "install this gt's node agent beside the old one, switch, restart; switch back on failure",
    )
    .argument('[name]', 'machine name')
    .option('--all', 'upgrade every ssh machine, in parallel')
    .option('--json', 'print the result as JSON')
    .action(async (...args: unknown[]) =>
      (await import('./machine-upgrade-actions.js')).machineUpgrade(...args),
    );
  machine
    .command('provision')
    .description('install or repair the node agent on a machine (idempotent)')
    .argument('<name>', 'machine name')
    .option('--json', 'print the result as JSON')
    .action(lazy('machineProvision'));
}
