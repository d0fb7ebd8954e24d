/** What the rig checks need to know about a rig, gathered leniently (any file may be broken). */
import { existsSync, readdirSync } from 'node:fs';
import { readJsonFile } from '../../proto/index.js';
import type { DoctorContext } from './doctor-types.js';
import { rigPaths, townPaths } from './layout.js';
import {
  RigConfigSchema,
  TownConfigSchema,
  derivePrefix,
  type RigConfig,
  type RigEntry,
} from './schemas.js';
import { readRigsRegistry } from './town.js';

export interface RigFacts {
  rig: string;
  townRoot: string;
  town: string;
  config: RigConfig | undefined;
  entry: RigEntry | undefined;
  gitUrl: string | undefined;
  prefix: string;
}

export async function rigFacts(ctx: DoctorContext): Promise<RigFacts> {
  const rig = ctx.rig ?? '';
  const paths = rigPaths(ctx.townRoot, rig);
  const config = await readJsonFile(paths.configJson, RigConfigSchema).catch(() => undefined);
  const registry = await readRigsRegistry(ctx.townRoot).catch(() => undefined);
  const entry = registry?.rigs[rig];
  const town = await readJsonFile(townPaths(ctx.townRoot).townJson, TownConfigSchema).catch(
    () => undefined,
  );
  return {
    rig,
    townRoot: ctx.townRoot,
    town: town?.name ?? 'town',
    config,
    entry,
    gitUrl: config?.git_url ?? entry?.git_url,
    prefix: config?.beads.prefix ?? entry?.prefix ?? derivePrefix(rig),
  };
}

/** Rig folders on disk: directories of the town root that hold a config.json. */
export function rigsOnDisk(townRoot: string): string[] {
  return readdirSync(townRoot, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(rigPaths(townRoot, e.name).configJson))
    .map((e) => e.name);
}
