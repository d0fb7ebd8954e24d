/**
 * config/grown-machines.json: every machine an elastic swarm grew, with when it was created and
 * deleted. It outlives the machines (config/federation.json forgets a machine when it goes) and
 * is what a swarm's machine-minutes are counted from. Locked, validated, written atomically.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, withFileLock, writeJsonAtomic } from '../proto/index.js';

const GrownRecordSchema = z
  .object({
    name: z.string().min(1),
    swarm: z.string(),
    template: z.string().min(1),
    machine_type: z.string().optional(),
    created_at: z.string(),
    deleted_at: z.string().optional(),
  })
  .strict();
export type GrownRecord = z.infer<typeof GrownRecordSchema>;

const LedgerSchema = z
  .object({ version: z.literal(1), machines: z.array(GrownRecordSchema) })
  .strict();
type Ledger = z.infer<typeof LedgerSchema>;

export function ledgerPath(townRoot: string): string {
  return join(townRoot, 'config', 'grown-machines.json');
}

export async function readLedger(townRoot: string): Promise<GrownRecord[]> {
  const path = ledgerPath(townRoot);
  if (!existsSync(path)) return [];
  return (
    await readJsonFile(path, LedgerSchema, {
      hint: 'config/grown-machines.json is written by gt; move it aside to start a new one',
    })
  ).machines;
}

/** Change the ledger under its lock: `mutate` gets the records and returns the new ones. */
export async function updateLedger(
  townRoot: string,
  mutate: (records: GrownRecord[]) => GrownRecord[],
): Promise<void> {
  const path = ledgerPath(townRoot);
  await withFileLock(path, async () => {
    const next: Ledger = { version: 1, machines: mutate(await readLedger(townRoot)) };
    await writeJsonAtomic(path, LedgerSchema.parse(next));
  });
}

/** Minutes a record's machine ran (until now while it lives). */
export function machineMinutes(r: GrownRecord, now = Date.now()): number {
  const end = r.deleted_at === undefined ? now : Date.parse(r.deleted_at);
  return Math.max(0, (end - Date.parse(r.created_at)) / 60_000);
}

/** A swarm's machine-minutes (grown machines only), rounded up to whole minutes per machine. */
export function swarmMachineMinutes(records: GrownRecord[], swarm: string, now = Date.now()) {
  const mine = records.filter((r) => r.swarm === swarm);
  return {
    machines: mine.length,
    minutes: mine.reduce((n, r) => n + Math.ceil(machineMinutes(r, now)), 0),
  };
}
