// Errors of the beads library: all are GtErrors (proto/errors.ts) with a beads-specific hint.
import { GtError } from '../../proto/index.js';

export function noDatabaseError(beadsDir: string): GtError {
  return new GtError('GT_BEADS', `no beads database in ${beadsDir}`, {
    hint: 'run `bd init --prefix <prefix>` here, or set BEADS_DIR to a rig’s .beads directory',
  });
}

export function notFoundError(id: string): GtError {
  return new GtError('GT_NOT_FOUND', `issue ${id} not found`, {
    hint: 'run `bd list` to see the ids',
  });
}

export function invalidArgument(message: string, hint: string): GtError {
  return new GtError('GT_INVALID_ARGUMENT', message, { hint });
}

export const PRIORITY_FORMS = '0, 1, 2, 3, 4 or P0 … P4 (0 is highest)';

/** Parse a priority as beads accepts it: 0..4 or P0..P4. */
export function parsePriority(input: string | number): number {
  const text = String(input).trim();
  const match = /^[pP]?([0-4])$/.exec(text);
  if (match === null) {
    throw invalidArgument(`invalid priority "${text}"`, `use ${PRIORITY_FORMS}`);
  }
  return Number(match[1]);
}
