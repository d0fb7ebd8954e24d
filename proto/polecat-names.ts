/**
 * The polecat name pool. Shared by the node agent (a spawn on the rig's home) and the
 * coordinator (which names a polecat it places on another machine, so that `<rig>/<name>` stays
 * one polecat fleet-wide).
 */
/** Polecat names (Mad Max: Fury Road), used in order; then `polecat-<n>`. */
export const POLECAT_NAMES = [
  'Nux',
  'Toast',
  'Capable',
  'Furiosa',
  'Slit',
  'Rictus',
  'Dag',
  'Cheedo',
  'Angharad',
  'Max',
  'Valkyrie',
  'Ace',
  'Morsov',
  'Keeper',
  'Corpus',
] as const;

/** The first pool name (case-insensitively) not taken by an existing polecat. */
export function nextPoolName(taken: readonly string[]): string {
  const lower = new Set(taken.map((t) => t.toLowerCase()));
  const free = POLECAT_NAMES.find((n) => !lower.has(n.toLowerCase()));
  if (free !== undefined) return free;
  for (let i = POLECAT_NAMES.length + 1; ; i++)
    if (!lower.has(`polecat-${i}`)) return `polecat-${i}`;
}
