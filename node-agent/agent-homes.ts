/**
 * Address → agent home on this machine, for mail and sessions. An address whose home does not
 * exist is an error that lists the closest known addresses.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GtError, formatAddress, parseAddress, type Address } from '../proto/index.js';
import { readRigsRegistry, rigAgents, rigPaths, townPaths } from './town/index.js';

/** The overseer (a human) has a mailbox at <town>/overseer/, created on first delivery. */
export function overseerHome(townRoot: string): string {
  return join(townRoot, 'overseer');
}

export function homeOf(townRoot: string, address: Address): string {
  if (address.role === 'overseer') return overseerHome(townRoot);
  if (address.rig === undefined) return townPaths(townRoot).mayorHome;
  const rig = rigPaths(townRoot, address.rig);
  switch (address.role) {
    case 'mayor':
      return rig.mayorHome;
    case 'witness':
      return rig.witnessHome;
    case 'refinery':
      return rig.refineryHome;
    case 'polecat':
      return join(rig.polecatsDir, address.name);
    case 'plugin':
      return join(rig.pluginsDir, address.name);
  }
}

/** Every agent address of the town (mayor, overseer, each rig's agents). */
export async function knownAddresses(townRoot: string): Promise<string[]> {
  const out = ['mayor', 'overseer'];
  try {
    const registry = await readRigsRegistry(townRoot);
    for (const rig of Object.keys(registry.rigs))
      for (const a of rigAgents(townRoot, rig)) out.push(a.address);
  } catch {
    /* a broken registry is doctor's business; suggestions are best-effort */
  }
  return out;
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] ?? 0;
      prev[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (prev[j - 1] ?? 0) + 1,
        diag + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diag = tmp;
    }
  }
  return prev[b.length] ?? 0;
}

/** The closest known addresses to `wanted`, best first. */
export function closeMatches(wanted: string, known: string[], max = 3): string[] {
  const w = wanted.toLowerCase();
  return known
    .map((k) => ({
      k,
      d:
        distance(w, k.toLowerCase()) -
        (k.toLowerCase().includes(w) || w.includes(k.toLowerCase()) ? 2 : 0),
    }))
    .filter(({ d, k }) => d <= Math.max(3, Math.floor(k.length / 2)))
    .sort((a, b) => a.d - b.d)
    .slice(0, max)
    .map(({ k }) => k);
}

/** Resolve an address to an existing home; GT_AGENT_NOT_FOUND with suggestions otherwise. */
export async function requireHome(
  townRoot: string,
  addressText: string,
): Promise<{ address: Address; home: string }> {
  const address = parseAddress(addressText);
  const home = homeOf(townRoot, address);
  if (address.role === 'overseer') {
    mkdirSync(join(home, 'mail'), { recursive: true });
    return { address, home };
  }
  if (!existsSync(home)) {
    const text = formatAddress(address);
    const suggestions = closeMatches(text, await knownAddresses(townRoot));
    throw new GtError('GT_AGENT_NOT_FOUND', `no agent at address "${text}" in this town`, {
      hint:
        suggestions.length > 0
          ? `did you mean: ${suggestions.join(', ')}?`
          : 'list agents with `gt status`',
      details: { suggestions },
    });
  }
  return { address, home };
}
