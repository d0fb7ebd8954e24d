/**
 * What the fleet doctor tells each machine about polecats elsewhere: a rig's beads live on its
 * home, but its polecats may run on other machines (satellites). Before the machines' doctors
 * run, every machine is asked for the polecats it runs (rigs it homes and satellites) and which
 * of them hold their issue there — working with a live session, stuck, done or stopped. A claim
 * one of those holds is not an orphan on the home (the machine running it checks it: a crashed
 * session there is its agent-crash finding). A machine that does not answer adds nobody, so a
 * claim held there is judged as before.
 */
import type { MachineRegistry } from './machines.js';
import { askMachine } from './fan-out.js';

const HOLDING = new Set(['stuck', 'done', 'stopped']);

/** Polecats (rig/name) holding an issue on `machine`; [] when it does not answer. */
async function holdersOn(
  registry: MachineRegistry,
  machine: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  try {
    return await askMachine(
      registry,
      machine,
      async (c, s) => {
        const listed = await c.listRigs({}, { signal: s });
        const rigs = [...listed.rigs.map((r) => r.name), ...listed.satellites];
        const out: string[] = [];
        for (const rig of rigs)
          for (const p of (await c.listPolecats({ rig }, { signal: s })).polecats) {
            const st = p.status;
            if (st === undefined || st.issue === '') continue;
            if ((st.state === 'working' && st.sessionAlive) || HOLDING.has(st.state))
              out.push(st.address);
          }
        return out;
      },
      { timeoutMs, ...(signal === undefined ? {} : { signal }) },
    );
  } catch {
    return [];
  }
}

/** For each machine, the polecats holding an issue on the other machines. */
export async function polecatsElsewhere(
  registry: MachineRegistry,
  machines: string[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Map<string, string[]>> {
  const held = await Promise.all(
    machines.map(async (m) => [m, await holdersOn(registry, m, timeoutMs, signal)] as const),
  );
  return new Map(
    machines.map((m) => [m, held.filter(([other]) => other !== m).flatMap(([, list]) => list)]),
  );
}
