/**
 * gcp machines in the `machine` group: `gt machine add NAME --gcp PROJECT/ZONE/INSTANCE […]`
 * (its options join `add`), `gt machine start NAME`, `gt machine stop NAME`. The actions load
 * lazily from machine-gcp-actions.ts / machine-gcp-life.ts (and they load the Compute client).
 *
 *   gt machine add NAME --gcp P/Z/I [--create --machine-type T --image-family F --image-project P
 *       --disk-gb N] [--user U] [--identity FILE] [--label k=v] [--accept-host-key]
 *   gt machine start NAME        start the instance, wait for sshd, bring the node agent back
 *   gt machine stop NAME         stop it (refused while it runs polecats or homes rigs, unless --force)
 */
import type { Command } from 'commander';
import { GtError } from '../../proto/index.js';
import { optionsOf } from './context.js';
import { machineCommand } from './machines.js';

type Action = (...args: unknown[]) => Promise<void>;
const lazy =
  (name: 'machineAddGcp' | 'machineStart' | 'machineStop'): Action =>
  async (...args) =>
    name === 'machineAddGcp'
      ? (await import('./machine-gcp-actions.js')).machineAddGcp(...args)
      : (await import('./machine-gcp-life.js'))[name](...args);

/** The gcp options of `gt machine add`. */
export function addGcpOptions(add: Command): void {
  add
    .option('--gcp <project/zone/instance>', 'a Compute Engine instance (with --create: made now)')
    .option('--create', 'gcp: create the instance (external IP, the town key in its ssh-keys)')
    .option('--machine-type <type>', 'gcp --create: machine type (default e2-standard-2)')
    .option('--image-family <family>', 'gcp --create: boot image family (default debian-12)')
    .option(
      '--image-project <project>',
      'gcp --create: project of the image (default debian-cloud)',
    )
    .option('--disk-gb <n>', 'gcp --create: boot disk size in GB (default 20)')
    .option('--user <user>', 'gcp: the account to log in as (default gastown)');
}

/** `gt machine add`: --ssh runs `ssh`, --gcp the gcp action; exactly one of them. */
export function machineAddAction(ssh: Action): Action {
  return async (...args) => {
    const opts = optionsOf(args);
    const hasSsh = opts.ssh !== undefined;
    const hasGcp = opts.gcp !== undefined;
    if (hasSsh === hasGcp)
      throw new GtError(
        'GT_USAGE',
        hasSsh
          ? 'give --ssh or --gcp, not both'
          : 'say where the machine is: --ssh user@host[:port] or --gcp PROJECT/ZONE/INSTANCE',
        {
          hint: 'e.g. `gt machine add worker-1 --ssh deploy@10.0.0.5` or `gt machine add worker-1 --gcp my-proj/europe-west1-b/worker-1 --create --accept-host-key`',
        },
      );
    return hasGcp ? lazy('machineAddGcp')(...args) : ssh(...args);
  };
}

export function registerMachineGcpCommands(program: Command): void {
  const machine = machineCommand(program);
  machine
    .command('start')
    .description('gcp: start the instance, wait for sshd and bring the node agent back')
    .argument('<name>', 'machine name')
    .option('--json', 'print the result as JSON')
    .action(lazy('machineStart'));
  machine
    .command('stop')
    .description('gcp: stop the instance (refused while it runs polecats or homes rigs)')
    .argument('<name>', 'machine name')
    .option('--force', 'stop it anyway; its sessions end')
    .option('--json', 'print the result as JSON')
    .action(lazy('machineStop'));
}
