import { GtError } from '../proto/index.js';

export function unknownMachine(name: string, known: string[]): GtError {
  return new GtError('GT_MACHINE_UNKNOWN', `no machine named "${name}" in config/federation.json`, {
    hint:
      known.length > 0
        ? `known machines: ${known.join(', ')}`
        : 'add it under "machines" in config/federation.json (`gt doctor` checks the file)',
  });
}

export function machineTypeNotAvailable(name: string, type: string): GtError {
  return new GtError(
    'GT_NOT_IMPLEMENTED',
    `machine "${name}" is of type ${type}, which this coordinator cannot connect to yet`,
    {
      hint: 'only the local machine is supported in this version; remove the entry from config/federation.json or upgrade Gas Town',
    },
  );
}
