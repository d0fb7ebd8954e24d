/**
 * The address grammar: `[machine:]target`, one parser for every mail and session command.
 *
 *   mayor                      the town's Mayor
 *   overseer                   the human operator's inbox (escalations the Mayor hands up)
 *   <rig>/witness              the rig's Witness
 *   <rig>/refinery             the rig's Refinery
 *   <rig>/mayor                the Mayor's presence in a rig (mayor/rig clone)
 *   <rig>/<polecat>            a polecat (also written <rig>/polecats/<polecat>)
 *   <rig>/plugins/<name>       a plugin agent
 *   <machine>:<any of these>   the same, on a named machine (default: wherever the rig lives)
 *
 * Every malformed input gets an error that names the part that is wrong and shows a valid form.
 */
import { GtError } from './errors.js';

export type RoleWord = 'mayor' | 'overseer' | 'witness' | 'refinery' | 'polecat' | 'plugin';

export type Address =
  | { machine?: string; role: 'mayor'; rig?: undefined; name?: undefined }
  | { machine?: string; role: 'overseer'; rig?: undefined; name?: undefined }
  | { machine?: string; role: 'mayor'; rig: string; name?: undefined }
  | { machine?: string; role: 'witness'; rig: string; name?: undefined }
  | { machine?: string; role: 'refinery'; rig: string; name?: undefined }
  | { machine?: string; role: 'polecat'; rig: string; name: string }
  | { machine?: string; role: 'plugin'; rig: string; name: string };

export const MAX_NAME_LENGTH = 64;
export const MAX_MACHINE_LENGTH = 63;
export const MAX_ADDRESS_LENGTH = 256;

/** Words that cannot be used as rig, polecat or plugin names because they name roles. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'mayor',
  'overseer',
  'witness',
  'refinery',
  'polecats',
  'plugins',
  'config',
  'run',
]);

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MACHINE_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

const FORMS =
  'valid forms: mayor, <rig>/witness, <rig>/refinery, <rig>/<polecat>, <rig>/plugins/<name>, with an optional <machine>: prefix';

function invalid(input: string, problem: string, hint = FORMS): GtError {
  return new GtError('GT_INVALID_ADDRESS', `invalid address "${input}": ${problem}`, { hint });
}

export type NameKind = 'rig' | 'polecat' | 'plugin' | 'machine';

/** Validate one name (rig, polecat, plugin). Returns the problem, or undefined when valid. */
export function nameProblem(kind: NameKind, name: string): string | undefined {
  if (name.length === 0) return `the ${kind} name is empty`;
  if (kind === 'machine') {
    if (name.length > MAX_MACHINE_LENGTH)
      return `the machine name is ${name.length} characters long (at most ${MAX_MACHINE_LENGTH})`;
    if (!MACHINE_RE.test(name))
      return `the machine name "${name}" may contain only lowercase letters, digits and inner hyphens`;
    return undefined;
  }
  if (name.length > MAX_NAME_LENGTH)
    return `the ${kind} name is ${name.length} characters long (at most ${MAX_NAME_LENGTH})`;
  if (name === '.' || name === '..' || name.includes('..'))
    return `the ${kind} name "${name}" contains ".."`;
  if (name.includes('/') || name.includes('\\'))
    return `the ${kind} name "${name}" contains a slash`;
  if (!NAME_RE.test(name))
    return `the ${kind} name "${name}" must start with a letter or digit and contain only letters, digits, ".", "_" and "-"`;
  if (kind !== 'plugin' && RESERVED_NAMES.has(name.toLowerCase()))
    return `"${name}" is a reserved role word and cannot be a ${kind} name`;
  return undefined;
}

/** Throw GT_INVALID_ARGUMENT when `name` is not a valid name of that kind. */
export function assertName(kind: NameKind, name: string): void {
  const problem = nameProblem(kind, name);
  if (problem !== undefined) {
    throw new GtError('GT_INVALID_ARGUMENT', `invalid ${kind} name: ${problem}`, {
      hint:
        kind === 'machine'
          ? 'use a short DNS-style name such as "build-2"'
          : `use 1–${MAX_NAME_LENGTH} letters, digits, ".", "_" or "-" starting with a letter or digit`,
    });
  }
}

function checkName(input: string, kind: NameKind, name: string): string {
  const problem = nameProblem(kind, name);
  if (problem !== undefined) throw invalid(input, problem);
  return name;
}

/** Parse an address; throws GT_INVALID_ADDRESS with a precise message on any malformed input. */
export function parseAddress(input: string): Address {
  if (input.length === 0) throw invalid(input, 'it is empty');
  if (input.length > MAX_ADDRESS_LENGTH)
    throw invalid(
      `${input.slice(0, 32)}…`,
      `it is ${input.length} characters long (at most ${MAX_ADDRESS_LENGTH})`,
    );
  if (/\s/.test(input)) throw invalid(input, 'it contains whitespace');
  let machine: string | undefined;
  let target = input;
  const colon = input.indexOf(':');
  if (colon !== -1) {
    if (input.indexOf(':', colon + 1) !== -1) throw invalid(input, 'it contains more than one ":"');
    machine = input.slice(0, colon);
    target = input.slice(colon + 1);
    if (machine.length === 0) throw invalid(input, 'the machine name before ":" is empty');
    checkName(input, 'machine', machine);
    if (target.length === 0) throw invalid(input, 'nothing follows the machine name');
  }
  const withMachine = <T extends object>(a: T): T & { machine?: string } =>
    machine === undefined ? a : { machine, ...a };
  const parts = target.split('/');
  if (parts.some((p) => p.length === 0))
    throw invalid(input, 'it has an empty part (leading, trailing or doubled "/")');
  if (parts.some((p) => p === '..' || p === '.'))
    throw invalid(input, 'it contains a "." or ".." part');
  const [first, second, third, ...rest] = parts as [
    string,
    string | undefined,
    string | undefined,
    ...string[],
  ];
  if (second === undefined) {
    const word = first.toLowerCase();
    if (word === 'mayor') return withMachine({ role: 'mayor' as const });
    if (word === 'overseer') return withMachine({ role: 'overseer' as const });
    throw invalid(
      input,
      `"${first}" is not a town-level role (only "mayor" and "overseer" stand alone)`,
      `agents in a rig are addressed as ${first}/<name>; ${FORMS}`,
    );
  }
  const rig = checkName(input, 'rig', first);
  if (third === undefined) {
    const word = second.toLowerCase();
    if (word === 'witness') return withMachine({ role: 'witness' as const, rig });
    if (word === 'refinery') return withMachine({ role: 'refinery' as const, rig });
    if (word === 'mayor') return withMachine({ role: 'mayor' as const, rig });
    if (word === 'plugins' || word === 'polecats')
      throw invalid(input, `"${second}" needs a name after it (${rig}/${word}/<name>)`);
    if (word === 'overseer')
      throw invalid(input, '"overseer" is town-level: address it as "overseer"');
    return withMachine({
      role: 'polecat' as const,
      rig,
      name: checkName(input, 'polecat', second),
    });
  }
  if (rest.length > 0)
    throw invalid(input, `it has ${parts.length} parts; no address has more than 3`);
  const group = second.toLowerCase();
  if (group === 'plugins')
    return withMachine({ role: 'plugin' as const, rig, name: checkName(input, 'plugin', third) });
  if (group === 'polecats')
    return withMachine({ role: 'polecat' as const, rig, name: checkName(input, 'polecat', third) });
  throw invalid(
    input,
    `unknown role word "${second}" (expected "plugins" or "polecats" before a name)`,
  );
}

/** The canonical text of an address (round-trips through parseAddress). */
export function formatAddress(address: Address): string {
  const prefix = address.machine === undefined ? '' : `${address.machine}:`;
  switch (address.role) {
    case 'overseer':
      return `${prefix}overseer`;
    case 'mayor':
      return address.rig === undefined ? `${prefix}mayor` : `${prefix}${address.rig}/mayor`;
    case 'witness':
      return `${prefix}${address.rig}/witness`;
    case 'refinery':
      return `${prefix}${address.rig}/refinery`;
    case 'polecat':
      return `${prefix}${address.rig}/${address.name}`;
    case 'plugin':
      return `${prefix}${address.rig}/plugins/${address.name}`;
  }
}

/** The address without its machine part (what a node agent sees). */
export function withoutMachine(address: Address): Address {
  if (address.machine === undefined) return address;
  const { machine: _machine, ...rest } = address;
  return rest as Address;
}
