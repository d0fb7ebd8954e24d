/** config/federation.json: the machine registry (DESIGN §6). */
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../proto/index.js';

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
  })
  .strict();

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
