/** The CLI's one top-level error handler: usage → exit 2; GtError → error/hint, exit 1; else internal. */
import { err } from './output.js';

export interface ErrorLike {
  name?: string;
  code?: string;
  message: string;
  hint?: string | undefined;
  stack?: string | undefined;
  exitCode?: number;
}

/** Exit code for a usage error (bad flags, missing arguments, an invalid name or address). */
export const USAGE_EXIT = 2;

/** GtError codes that mean the command line itself is wrong: exit 2, like commander's errors. */
export const USAGE_CODES: ReadonlySet<string> = new Set([
  'GT_USAGE',
  'GT_INVALID_ADDRESS',
  'GT_INVALID_ARGUMENT',
]);

export function reportError(e: unknown, debug: boolean): number {
  const error = (e instanceof Error ? e : new Error(String(e))) as Error & ErrorLike;
  // commander's own usage errors have already printed their message.
  if (typeof error.code === 'string' && error.code.startsWith('commander.')) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    )
      return 0;
    return error.exitCode === 0 ? 0 : USAGE_EXIT;
  }
  if (error.name === 'GtError') {
    err(`error: ${error.message}`);
    if (error.hint !== undefined && error.hint !== '') err(`hint: ${error.hint}`);
    if (debug && error.stack !== undefined) err(error.stack);
    return USAGE_CODES.has(error.code ?? '') ? USAGE_EXIT : 1;
  }
  err(`internal error, please report: ${error.message}`);
  if (debug && error.stack !== undefined) err(error.stack);
  else err('hint: run again with --debug for the stack trace');
  return 1;
}
