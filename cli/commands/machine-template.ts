/**
 * `gt machine template add|list|remove`: gcp machines described, not created. A template is what
 * `gt swarm start --grow gcp:TEMPLATE` creates machines from. Stored in config/federation.json
 * under `templates` (validated, written atomically under the file's lock).
 *
 *   gt machine template add NAME --gcp PROJECT/ZONE [--machine-type T] [--image-family F]
 *       [--image-project P] [--disk-gb N] [--max-polecats N] [--label k=v] [--user U]
 *       [--identity FILE]
 *   gt machine template list [--json]
 *   gt machine template remove NAME
 */
import type { Command } from 'commander';
import { machineCommand } from './machines.js';

type Action = (...args: unknown[]) => Promise<void>;
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const lazy =
  (name: 'templateAdd' | 'templateList' | 'templateRemove'): Action =>
  async (...args) =>
    (await import('./machine-template-actions.js'))[name](...args);

export function registerMachineTemplateCommands(program: Command): void {
  const template = machineCommand(program)
    .command('template')
    .description('gcp machines to create on demand (gt swarm start --grow gcp:TEMPLATE)');
  template
    .command('add')
    .description('describe a gcp machine to create: project, zone, machine type, image, labels')
    .argument('<name>', 'template name (grown machines are named <name>-<n>)')
    .requiredOption('--gcp <project/zone>', 'the project and zone to create instances in')
    .option('--machine-type <type>', 'machine type (default e2-standard-2)')
    .option('--image-family <family>', 'boot image family (default debian-12)')
    .option('--image-project <project>', 'project of the image (default debian-cloud)')
    .option('--disk-gb <n>', 'boot disk size in GB (default 20)')
    .option('--max-polecats <n>', 'polecats per created machine (default 2)')
    .option('--label <k=v>', 'a label of every created machine (repeatable)', collect)
    .option('--user <user>', 'the account to log in as (default gastown)')
    .option('--identity <file>', "private key to log in with (default: the town's key)")
    .option('--json', 'print the template as JSON')
    .action(lazy('templateAdd'));
  template
    .command('list')
    .description('every template')
    .option('--json', 'print as JSON')
    .action(lazy('templateList'));
  template
    .command('remove')
    .description('forget a template (machines grown from it stay)')
    .argument('<name>', 'template name')
    .action(lazy('templateRemove'));
}
