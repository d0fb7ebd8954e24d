// bd's one error report: a GtError as `error: …` and `hint: …` on stderr, exit 2 for a usage
// error and 1 otherwise; anything else is an internal error. Light on purpose: a relayed bd
// (relay.ts) reports through it without loading bd's commands.
import { isGtError } from '../../proto/index.js';
import { USAGE_CODES } from '../errors.js';
import { err } from './output.js';

export function reportError(error: unknown, debug: boolean): number {
  if (isGtError(error)) {
    err(`error: ${error.message}`);
    if (error.hint !== undefined) err(`hint: ${error.hint}`);
    if (debug && error.stack !== undefined) err(error.stack);
    return USAGE_CODES.has(error.code) ? 2 : 1;
  }
  err(`error: internal error, please report: ${(error as Error)?.message ?? String(error)}`);
  if (debug) err((error as Error)?.stack ?? '');
  else err('hint: run again with --debug for the stack trace');
  return 1;
}
