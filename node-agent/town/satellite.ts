/**
 * Satellite rigs: a rig homed on another machine (its beads database, Refinery and Witness
 * mail are there) whose polecats the coordinator placed on this machine. The satellite holds
 * only what those polecats need here: config.json (where the code is), polecats/ (their clones
 * and homes, cloned from the rig's git_url, since there is no refinery clone to copy) and a
 * witness home whose inbox takes the polecats' `done` signals for the patrol that runs here.
 * It is registered in rigs.json with `home_machine`, so `listRigs` leaves it out of the rigs
 * this machine homes (the fleet directory never routes a rig to it).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { GtError, assertName, writeJsonAtomic } from '../../proto/index.js';
import { rigPaths, writeAgentHome } from './layout.js';
import { RigConfigSchema, type RigConfig } from './schemas.js';
import { loadTown, readRigsRegistry, registerRig } from './town.js';
import { tryReadRigConfig } from './rigs.js';

export interface SatelliteRigOptions {
  townRoot: string;
  rig: string;
  homeMachine: string;
  gitUrl: string;
  defaultBranch: string;
  prefix: string;
  /** The home's Witness settings for the rig: the satellite's patrol follows them. */
  witness?: unknown;
}

/** Create (or refresh) the satellite of `rig` here; returns its config. Idempotent. */
export async function ensureSatelliteRig(o: SatelliteRigOptions): Promise<RigConfig> {
  assertName('rig', o.rig);
  const registry = await readRigsRegistry(o.townRoot);
  const entry = registry.rigs[o.rig];
  if (entry !== undefined && entry.home_machine === undefined)
    throw new GtError(
      'GT_CONFLICT',
      `rig "${o.rig}" is homed on this machine, not on ${o.homeMachine}: two machines claim to home it`,
      {
        hint: `see \`gt rigs\`; remove the stale copy with \`gt rig remove ${o.rig}\` on the machine that should not home it`,
      },
    );
  const paths = rigPaths(o.townRoot, o.rig);
  const existing = await tryReadRigConfig(paths.configJson);
  const base = {
    ...(existing ?? {}),
    type: 'rig',
    version: 1,
    name: o.rig,
    git_url: o.gitUrl,
    ...(o.defaultBranch === '' ? {} : { default_branch: o.defaultBranch }),
    beads: { ...(existing?.beads ?? {}), prefix: o.prefix },
  };
  // The home's Witness settings; ones this version does not know leave the satellite's as they are.
  const withWitness =
    o.witness === undefined
      ? undefined
      : RigConfigSchema.safeParse({ ...base, witness: o.witness });
  const config: RigConfig =
    withWitness?.success === true ? withWitness.data : RigConfigSchema.parse(base);
  mkdirSync(paths.polecatsDir, { recursive: true });
  await writeJsonAtomic(paths.configJson, config);
  if (!existsSync(paths.witnessHome)) {
    const town = await loadTown(o.townRoot);
    await writeAgentHome({
      home: paths.witnessHome,
      template: 'witness',
      facts: { town: town.config.name, rig: o.rig, prefix: o.prefix },
    });
  }
  if (entry?.home_machine !== o.homeMachine || entry.git_url !== o.gitUrl)
    await registerRig(o.townRoot, o.rig, {
      git_url: o.gitUrl,
      added_at: entry?.added_at ?? new Date().toISOString(),
      prefix: o.prefix,
      home_machine: o.homeMachine,
    });
  return config;
}
