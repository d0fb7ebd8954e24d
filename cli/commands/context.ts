/** What every command needs: its options merged with the globals, the town, the coordinator. */
import type { Command } from 'commander';
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { err } from '../output.js';
import { openCoordinator, type CoordinatorSession } from '../session.js';
import { resolveTownRoot } from '../town-root.js';

export interface CommandOptions {
  town?: string;
  verbose?: boolean;
  debug?: boolean;
  json?: boolean;
  [key: string]: unknown;
}

/** commander passes (...args, options, command): pull out the merged options. */
export function optionsOf(args: unknown[]): CommandOptions {
  const command = args[args.length - 1] as Command;
  return command.optsWithGlobals<CommandOptions>();
}

export interface WithCoordinatorOptions {
  townRoot?: string;
  /** Read-only diagnosis (gt doctor): a broken federation.json gives a local-only registry. */
  localOnlyIfFederationInvalid?: boolean;
}

/** Open the coordinator for the town, run `fn`, close. --verbose says which mode served it. */
export async function withCoordinator<T>(
  opts: CommandOptions,
  fn: (session: CoordinatorSession, townRoot: string) => Promise<T>,
  options: WithCoordinatorOptions = {},
): Promise<T> {
  const root = options.townRoot ?? resolveTownRoot(opts.town);
  const session = await openCoordinator({
    townRoot: root,
    localOnlyIfFederationInvalid: options.localOnlyIfFederationInvalid === true,
  });
  if (opts.verbose === true)
    err(
      `served by: ${session.mode === 'daemon' ? 'town daemon (gt up)' : session.mode === 'agent' ? "the coordinator, through this machine's node agent" : 'embedded coordinator in this process'} for ${root}`,
    );
  try {
    return await fn(session, root);
  } finally {
    await session.close();
  }
}

/**
 * The current directory as a path inside the town ("" at the root or outside it): what `prime`
 * sends, so that the machine answering resolves it against its own town, not a path of ours.
 */
export function townPathHere(opts: CommandOptions, cwd = process.cwd()): string {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const rel = relative(real(resolveTownRoot(opts.town)), real(cwd));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return '';
  return rel.split(sep).join('/');
}
