/**
 * `gt machine reassign NAME` (DESIGN §6, liveness): the work of a lost machine goes back to the
 * queue. Every issue held by a polecat last seen there is given back to ready in its rig's
 * tracker, on the rig's home (status open, assignee cleared, a note naming the polecat's branch,
 * which stays on origin); the directory forgets those polecats; the Mayor gets one mail saying
 * what was reassigned. Only a lost machine: a connected or disconnected one may come back, and
 * its polecats with it. Heartbeats are watched by the daemon only, so without it there is no
 * "lost" to go by.
 */
import {
  GtError,
  type Coordinator,
  type ImplOf,
  type MessageInitShape,
  type ReassignedIssueSchema,
} from '../proto/index.js';
import type { FleetDirectory, Held } from './directory.js';
import { unknownMachine } from './errors.js';
import type { Liveness } from './liveness.js';
import type { MachineRegistry } from './machines.js';
import { escalateToMayor } from './mayor-mail.js';

type Impl = ImplOf<typeof Coordinator>;
type Reassigned = MessageInitShape<typeof ReassignedIssueSchema>;

export interface ReassignOptions {
  registry: MachineRegistry;
  directory: FleetDirectory;
  /** The daemon's heartbeat watch; undefined in a one-shot (embedded) coordinator. */
  liveness: () => Liveness | undefined;
}

export interface ReassignResult {
  machine: string;
  silentSince: string;
  issues: Reassigned[];
  idlePolecats: string[];
  dryRun: boolean;
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

/** Refuse unless `machine` is known and lost; the watch that says so. */
function requireLost(o: ReassignOptions, machine: string): Liveness {
  if (!o.registry.has(machine)) throw unknownMachine(machine, o.registry.names());
  const liveness = o.liveness();
  if (liveness === undefined)
    throw new GtError(
      'GT_DAEMON_NOT_RUNNING',
      `whether machine ${machine} is lost is only known while the town daemon watches its heartbeats`,
      { hint: 'start it with `gt up`; a machine is lost once it has been silent for lost_after' },
    );
  const view = liveness.view(machine);
  if (view.state === 'lost') return liveness;
  const until = seconds(liveness.untilLostMs(machine));
  const since = liveness.silentSince(machine);
  const state =
    view.state === 'connected'
      ? `is connected (last heartbeat ${view.lastHeartbeatAt})`
      : view.state === 'unknown'
        ? `has not been heard from since the daemon started (${since})`
        : `is ${view.state} (silent since ${since})`;
  throw new GtError(
    'GT_CONFLICT',
    `machine ${machine} ${state}, not lost: it would be lost in ${until} if it stays silent (lost after ${seconds(liveness.lostAfterMs)})`,
    {
      hint:
        view.state === 'connected'
          ? `its polecats run; to stop placing new ones there: \`gt machine drain ${machine}\``
          : `wait ${until} and run \`gt machine reassign ${machine}\` again, or bring the machine back`,
    },
  );
}

/** Give one held issue back on its rig's home (or say why it cannot be). */
async function returnOne(
  o: ReassignOptions,
  machine: string,
  held: Held,
  dryRun: boolean,
): Promise<Reassigned> {
  const rig = held.polecat.split('/')[0] ?? '';
  const home = o.directory.knownRigHome(rig) ?? '';
  const base = { polecat: held.polecat, issue: held.issue, rigHome: home, branch: held.branch };
  if (home === '' || home === machine)
    return {
      ...base,
      returned: false,
      detail:
        home === machine
          ? `rig ${rig}'s tracker is on ${machine} itself: the issue stays held until ${machine} is back (then \`gt release ${held.polecat}\`)`
          : `rig ${rig}'s home is not known: the issue stays held`,
    };
  if (dryRun) return { ...base, returned: false, detail: 'dry run' };
  const branch = held.branch === '' ? '' : ` Its branch ${held.branch} is kept on origin.`;
  try {
    const r = await (
      await o.registry.connect(home)
    ).client.returnIssue({
      rig,
      issue: held.issue,
      holder: held.polecat,
      note: `${new Date().toISOString()}: given back by \`gt machine reassign ${machine}\` — polecat ${held.polecat} was on machine ${machine}, which is lost.${branch}`,
    });
    return { ...base, returned: r.returned, detail: r.detail };
  } catch (err) {
    return { ...base, returned: false, detail: `${home} could not be asked: ${String(err)}` };
  }
}

export async function reassignLost(
  o: ReassignOptions,
  machine: string,
  dryRun: boolean,
): Promise<ReassignResult> {
  const liveness = requireLost(o, machine);
  const held = o.directory.heldOn(machine);
  const issues: Reassigned[] = [];
  for (const h of held.filter((x) => x.issue !== ''))
    issues.push(await returnOne(o, machine, h, dryRun));
  const idlePolecats = held.filter((h) => h.issue === '').map((h) => h.polecat);
  const result = {
    machine,
    silentSince: liveness.silentSince(machine),
    issues,
    idlePolecats,
    dryRun,
  };
  if (dryRun) return result;
  const kept = new Set(issues.filter((i) => i.returned !== true).map((i) => i.polecat));
  for (const h of held) if (!kept.has(h.polecat)) o.directory.forgetPolecat(h.polecat);
  await tellMayor(o, result);
  return result;
}

async function tellMayor(o: ReassignOptions, r: ReassignResult): Promise<void> {
  const line = (i: Reassigned): string =>
    `- ${i.issue} (${i.polecat}${i.branch === '' ? '' : `, branch ${i.branch} kept on origin`})${i.returned === true ? '' : `: not reassigned — ${i.detail ?? ''}`}`;
  const returned = r.issues.filter((i) => i.returned === true);
  const body = [
    `Machine ${r.machine} is lost (silent since ${r.silentSince}).`,
    returned.length === 0
      ? 'No issue went back to ready.'
      : `${returned.length} issue(s) went back to ready (open, unassigned) on their rigs' homes:`,
    ...r.issues.map(line),
    r.idlePolecats.length === 0 ? '' : `Idle polecats forgotten: ${r.idlePolecats.join(', ')}`,
    '',
    `See what is ready with \`bd ready\` in each rig; \`gt machine list\` shows ${r.machine}.`,
  ].filter((l, i, all) => l !== '' || i === all.length - 2);
  await escalateToMayor(o.registry, o.directory.home, {
    subject: `machine ${r.machine} reassigned: ${returned.length} issue(s) back to ready`,
    body: body.join('\n'),
  });
}

export function reassignMethod(o: ReassignOptions): Pick<Impl, 'reassignMachine'> {
  return {
    async reassignMachine(req) {
      return reassignLost(o, req.machine, req.dryRun);
    },
  };
}
