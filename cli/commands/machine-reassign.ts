/**
 * `gt machine reassign NAME [--yes] [--json]`: a lost machine's issues go back to ready on their
 * rigs' homes (open, unassigned; each polecat's branch is kept on origin and named), the fleet
 * directory forgets those polecats, the Mayor gets one mail. Refused for a machine that is not
 * lost (its state and the time until lost are named) and without the daemon (which alone knows).
 * Asks first on a terminal; a script says --yes.
 */
import { readFederation } from '../../coordinator/index.js';
import { GtError, type ReassignMachineResponse } from '../../proto/index.js';
import { daemonLiveness, coordinatorPaths } from '../runtime-files.js';
import { out, printJson } from '../output.js';
import { askYes } from '../prompt.js';
import { resolveTownRoot } from '../town-root.js';
import { optionsOf, withCoordinator } from './context.js';

function planLines(r: ReassignMachineResponse): string[] {
  const lines = r.issues.map(
    (i) =>
      `  ${i.issue}  ${i.polecat}${i.branch === '' ? '' : `  branch ${i.branch} (kept on origin)`}${
        r.dryRun
          ? i.detail === 'dry run'
            ? `  → ready on ${i.rigHome}`
            : `  kept: ${i.detail}`
          : ''
      }`,
  );
  if (r.idlePolecats.length > 0) lines.push(`  idle polecats: ${r.idlePolecats.join(', ')}`);
  return lines.length === 0 ? ['  nothing was held there'] : lines;
}

export async function machineReassign(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  const townRoot = resolveTownRoot(opts.town);
  const known = Object.keys((await readFederation(townRoot)).machines);
  if (!known.includes(name))
    throw new GtError('GT_USAGE', `no machine named "${name}" in config/federation.json`, {
      hint: `known machines: ${known.join(', ')}`,
    });
  if (!(await daemonLiveness(coordinatorPaths(townRoot))).running)
    throw new GtError(
      'GT_DAEMON_NOT_RUNNING',
      `whether machine ${name} is lost is only known while the town daemon watches its heartbeats, and it is not running`,
      { hint: 'start it with `gt up`; a machine is lost once it has been silent for lost_after' },
    );
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  if (opts.yes !== true && !interactive)
    throw new GtError('GT_USAGE', `gt machine reassign ${name} gives issues away: confirm it`, {
      hint: `run it on a terminal to be asked, or add --yes: gt machine reassign ${name} --yes`,
    });
  await withCoordinator(opts, async ({ client }) => {
    if (opts.yes !== true) {
      const plan = await client.reassignMachine({ machine: name, dryRun: true });
      process.stderr.write(
        `machine ${name} is lost (silent since ${plan.silentSince}); what was held there:\n${planLines(plan).join('\n')}\n`,
      );
      if (!(await askYes(`Give these issues back to ready? [y/N] `, process.stderr))) {
        out('nothing reassigned');
        return;
      }
    }
    const r = await client.reassignMachine({ machine: name, dryRun: false });
    if (opts.json === true)
      return printJson({
        machine: r.machine,
        silent_since: r.silentSince,
        issues: r.issues.map((i) => ({
          issue: i.issue,
          polecat: i.polecat,
          rig_home: i.rigHome,
          branch: i.branch,
          returned: i.returned,
          detail: i.detail,
        })),
        idle_polecats: r.idlePolecats,
      });
    const back = r.issues.filter((i) => i.returned);
    out(`machine ${name} (lost since ${r.silentSince}): ${back.length} issue(s) back to ready`);
    for (const i of r.issues)
      out(
        `  ${i.issue}  ${i.polecat}  ${i.returned ? `ready on ${i.rigHome}` : `kept: ${i.detail}`}${
          i.branch === '' ? '' : `; branch ${i.branch} kept on origin`
        }`,
      );
    if (r.idlePolecats.length > 0) out(`  idle polecats forgotten: ${r.idlePolecats.join(', ')}`);
    out('the Mayor was told (mail)');
  });
}
