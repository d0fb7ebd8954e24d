/**
 * `gt git-identity …`: the town's git identity for origins over ssh (the key every machine's git
 * uses to fetch from and push to rigs' origins, and the origin host keys it trusts). Stored in
 * the town (config/git/), copied to every machine; actions in git-identity-actions.ts.
 *
 *   gt git-identity set KEY --known-hosts FILE [--json]   store it, copy it to every machine
 *   gt git-identity show [--json]                         fingerprint, trusted hosts, ssh command
 *   gt git-identity remove [--json]                       forget it here and on every machine
 */
import type { Command } from 'commander';

type Action = (...args: unknown[]) => Promise<void>;
const lazy =
  (name: 'gitIdentitySet' | 'gitIdentityShow' | 'gitIdentityRemove'): Action =>
  async (...args) =>
    (await import('./git-identity-actions.js'))[name](...args);

export function registerGitIdentityCommands(program: Command): void {
  const identity = program
    .command('git-identity')
    .description("the town's ssh key for rigs' git origins, copied to every machine");
  identity
    .command('set')
    .description(
      'use KEY (owner-only private key) for every git origin over ssh, trusting the host keys in FILE; copy both to every machine',
    )
    .argument(
      '<key>',
      'private key file without a passphrase (e.g. a deploy key with write access)',
    )
    .requiredOption('--known-hosts <file>', "known_hosts lines for the origins' ssh servers")
    .option('--json', 'print the result as JSON')
    .action(lazy('gitIdentitySet'));
  identity
    .command('show')
    .description(
      "the town's git identity: key fingerprint, trusted hosts, the ssh command git runs",
    )
    .option('--json', 'print as JSON')
    .action(lazy('gitIdentityShow'));
  identity
    .command('remove')
    .description(
      "forget the town's git identity here and on every machine (git then uses each machine's own ssh setup)",
    )
    .option('--json', 'print the result as JSON')
    .action(lazy('gitIdentityRemove'));
}
