/** What `gt swarm status` adds for elastic swarms: machines being created, machine-minutes. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLedger, swarmMachineMinutes } from '../../coordinator/index.js';

/** Lines for `gt swarm status`: machines being created right now by a live `gt swarm start`. */
export function growingLines(townRoot: string): string[] {
  const dir = join(townRoot, 'run');
  if (!existsSync(dir)) return [];
  const lines: string[] = [];
  for (const f of readdirSync(dir).filter((x) => /^grow-\d+\.json$/.test(x))) {
    try {
      const s = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
        pid: number;
        template: string;
        machines: Record<string, string>;
      };
      process.kill(s.pid, 0);
      for (const [name, step] of Object.entries(s.machines))
        if (step !== 'ready') lines.push(`creating machine ${name} (gcp:${s.template}): ${step}`);
    } catch {
      // A file of a process that is gone, or half written: nothing being created there.
    }
  }
  return lines;
}

/** "grown machines: 2, 14 machine-minutes" for a swarm that grew any; undefined otherwise. */
export async function machineMinutesLine(
  townRoot: string,
  swarm: string,
): Promise<string | undefined> {
  const used = swarmMachineMinutes(await readLedger(townRoot).catch(() => []), swarm);
  if (used.machines === 0) return undefined;
  return `grown machines: ${used.machines}, ${used.minutes} machine-minutes`;
}
