/** The Report rpc: what `gt machine status` shows of this machine. */
import { statfs } from 'node:fs/promises';
import { cpus, hostname, loadavg, platform, arch, release } from 'node:os';
import { GT_VERSION, type MachineReportSchema, type MessageInitShape } from '../proto/index.js';
import { listRigs } from './town/index.js';
import type { LoopLedger } from './loop-ledger.js';

export async function machineReport(
  townRoot: string,
  sessions: MessageInitShape<typeof MachineReportSchema>['sessions'],
  /** Whether this machine runs its own loops, and their record per rig. */
  ledger?: LoopLedger,
): Promise<MessageInitShape<typeof MachineReportSchema>> {
  const fs = await statfs(townRoot).catch(() => undefined);
  const rigs = await listRigs(townRoot).catch(() => []);
  return {
    hostname: hostname(),
    platform: `${platform()} ${arch()} ${release()}`,
    nodeVersion: process.version,
    agentVersion: GT_VERSION,
    townRoot,
    diskFreeBytes: fs === undefined ? 0n : BigInt(fs.bavail) * BigInt(fs.bsize),
    diskTotalBytes: fs === undefined ? 0n : BigInt(fs.blocks) * BigInt(fs.bsize),
    loadAverage: loadavg(),
    cpus: cpus().length,
    now: new Date().toISOString(),
    rigs: rigs.filter((r) => r.present).map((r) => r.name),
    sessions,
    ownLoops: ledger?.own ?? false,
    loops: ledger?.statuses() ?? [],
  };
}
