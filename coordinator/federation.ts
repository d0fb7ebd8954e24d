/** config/federation.json: the machine registry (DESIGN §6). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  GtError,
  formatSchemaIssues,
  readJsonFile,
  withFileLock,
  writeJsonAtomic,
} from '../proto/index.js';

const machineName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
    'a machine name is lowercase letters, digits and inner hyphens',
  );

const LocalMachineSchema = z
  .object({
    type: z.literal('local'),
    town_path: z.string().optional(),
    max_polecats: z.number().int().positive().optional(),
    labels: z.array(z.string()).optional(),
    /** `gt machine drain`: no new polecats are placed there; running ones finish. */
    draining: z.boolean().optional(),
  })
  .strict();

const SshMachineSchema = z
  .object({
    type: z.literal('ssh'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1),
    identity_file: z.string().optional(),
    town_path: z.string().min(1),
    max_polecats: z.number().int().positive().optional(),
    labels: z.array(z.string()).optional(),
    /** `gt machine drain`: no new polecats are placed there; running ones finish. */
    draining: z.boolean().optional(),
  })
  .strict();

/** What an elastic swarm notes on a machine it grew: who grew it, from what, when it goes. */
export const GrownSchema = z
  .object({
    /** The swarm's id ("" while the swarm is being started). */
    swarm: z.string(),
    template: z.string().min(1),
    /** Delete it once the swarm is complete and it ran no polecat this long (none: kept). */
    shrink_after_s: z.number().int().positive().optional(),
  })
  .strict();
export type Grown = z.infer<typeof GrownSchema>;

const templateName = machineName;

/** A gcp machine to create, without an instance (`gt machine template add`). */
export const GcpTemplateSchema = z
  .object({
    type: z.literal('gcp'),
    project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id'),
    zone: z.string().regex(/^[a-z]+-[a-z]+[0-9]+-[a-z]$/, 'a GCP zone, e.g. europe-west1-b'),
    machine_type: z.string().min(1),
    image_family: z.string().min(1),
    image_project: z.string().min(1),
    disk_gb: z.number().int().min(10),
    max_polecats: z.number().int().positive(),
    labels: z.array(z.string()).optional(),
    user: z.string().min(1),
    identity_file: z.string().optional(),
  })
  .strict();
export type GcpTemplate = z.infer<typeof GcpTemplateSchema>;

const GcpMachineSchema = z
  .object({
    type: z.literal('gcp'),
    project: z.string().min(1),
    zone: z.string().min(1),
    instance: z.string().min(1),
    machine_type: z.string().optional(),
    user: z.string().min(1),
    identity_file: z.string().optional(),
    town_path: z.string().min(1),
    max_polecats: z.number().int().positive().optional(),
    labels: z.array(z.string()).optional(),
    /** `gt machine drain`: no new polecats are placed there; running ones finish. */
    draining: z.boolean().optional(),
    /** When gt created the instance (ISO 8601); unset for instances it found. */
    created_at: z.string().optional(),
    /** Set on a machine an elastic swarm grew (`gt swarm start --grow`). */
    grown: GrownSchema.optional(),
  })
  .strict();

export const MachineSchema = z.discriminatedUnion('type', [
  LocalMachineSchema,
  SshMachineSchema,
  GcpMachineSchema,
]);
export type Machine = z.infer<typeof MachineSchema>;

export const FederationSchema = z
  .object({
    version: z.literal(1),
    machines: z.record(machineName, MachineSchema),
    /** Machines to create on demand (`gt machine template add`, `gt swarm start --grow`). */
    templates: z.record(templateName, GcpTemplateSchema).optional(),
  })
  .strict();
export type Federation = z.infer<typeof FederationSchema>;

export function federationPath(townRoot: string): string {
  return join(townRoot, 'config', 'federation.json');
}

export function readFederation(townRoot: string): Promise<Federation> {
  return readJsonFile(federationPath(townRoot), FederationSchema, {
    hint: 'fix config/federation.json (machines.<name>.type is local, ssh or gcp), or run `gt doctor`',
  });
}

/**
 * The one way config/federation.json is changed (gt machine add / remove): under the file's
 * lock, read it (validated; a missing file is a registry holding the local machine), apply
 * `mutate`, validate the result and write it atomically. A failure writes nothing.
 */
export async function updateFederation(
  townRoot: string,
  mutate: (current: Federation) => Federation | Promise<Federation>,
): Promise<Federation> {
  const path = federationPath(townRoot);
  return withFileLock(path, async () => {
    const current = existsSync(path)
      ? await readFederation(townRoot)
      : { version: 1 as const, machines: { local: { type: 'local' as const } } };
    const parsed = FederationSchema.safeParse(await mutate(structuredClone(current)));
    if (!parsed.success)
      throw new GtError('GT_CONFIG_INVALID', formatSchemaIssues(path, parsed.error.issues), {
        hint: 'nothing was written; fix the values given',
      });
    const next = parsed.data;
    await writeJsonAtomic(path, next);
    return next;
  });
}

/** Replace config/federation.json with `federation` (validated; locked, atomic). */
export function writeFederation(townRoot: string, federation: Federation): Promise<Federation> {
  return updateFederation(townRoot, () => federation);
}
