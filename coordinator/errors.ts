import { GtError } from '../proto/index.js';

export function unknownMachine(name: string, known: string[]): GtError {
  return new GtError('GT_MACHINE_UNKNOWN', `no machine named "${name}" in config/federation.json`, {
    hint:
      known.length > 0
        ? `known machines: ${known.join(', ')} (\`gt machine list\`); add one with \`gt machine add ${name} --ssh user@host\``
        : `add it with \`gt machine add ${name} --ssh user@host\``,
  });
}

export function machineTypeNotAvailable(name: string, type: string): GtError {
  return new GtError(
    'GT_NOT_IMPLEMENTED',
    `machine "${name}" is of type ${type}, which this coordinator cannot connect to yet`,
    {
      hint: `${type} machines are not supported yet: remove it with \`gt machine remove ${name} --force\``,
    },
  );
}
