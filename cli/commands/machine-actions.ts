/** The actions of `gt machine list / status / remove` (the group is in machines.ts). */
import {
  ListMachinesResponseSchema,
  MachineStatusResponseSchema,
  RemoveMachineResponseSchema,
  ShrinkGrownResponseSchema,
  GtError,
  nameProblem,
  type MachineReport,
  type MachineInfo,
} from '../../proto/index.js';
import { color, err, messageJson, out, printJson, table } from '../output.js';
import { optionsOf, withCoordinator } from './context.js';

function stateText(m: MachineInfo): string {
  const drain = m.draining ? ', draining' : '';
  const upgrade = m.upgradeAvailable ? ' (upgrade available)' : '';
  if (m.state === 'connected') return `connected${drain}${upgrade}`;
  if (m.state === 'unreachable' || m.state === 'refused' || m.state === 'lost')
    return color.red(`${m.state}${drain}`);
  if (m.state === 'stopped' || m.state === 'disconnected')
    return color.yellow(`${m.state}${drain}`);
  return `${m.state}${drain}`;
}

function polecats(m: MachineInfo): string {
  return `${m.polecats}/${m.maxPolecats === 0 ? '-' : String(m.maxPolecats)}`;
}

function grownText(m: MachineInfo): string {
  if (m.grownTemplate === '') return m.type;
  const by = m.grownBy === '' ? 'a swarm being started' : `swarm ${m.grownBy}`;
  return `${m.type} (grown by ${by}; ${m.expiry === '' ? 'kept' : `deleted after ${m.expiry}`})`;
}

export async function machineList(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const res = await client.listMachines({});
    if (opts.json === true) return printJson(messageJson(ListMachinesResponseSchema, res));
    out(
      table(
        ['NAME', 'TYPE', 'ADDRESS', 'STATE', 'AGENT', 'POLECATS', 'LABELS', 'LAST SEEN'],
        res.machines.map((m) => [
          m.name,
          grownText(m),
          m.address,
          stateText(m),
          m.agentVersion === '' ? '-' : m.agentVersion,
          polecats(m),
          m.labels.join(',') || '-',
          m.lastSeenAt === '' ? 'never' : m.lastSeenAt,
        ]),
      ),
    );
    for (const m of res.machines.filter((x) => x.state === 'unreachable' || x.state === 'refused'))
      err(`warning: machine ${m.name} ${m.state}: ${m.detail}`);
  });
}

const GiB = 1024 ** 3;

/** A machine name given on the command line: a bad one is a usage error (exit 2). */
function machineName(name: string): void {
  const problem = nameProblem('machine', name);
  if (problem !== undefined)
    throw new GtError('GT_USAGE', problem, { hint: 'see the names with `gt machine list`' });
}

/** Who runs the machine's Witness and Refinery loops, and each loop's last run. */
function loopLines(r: MachineReport): string[] {
  if (!r.ownLoops) return ["loops: run by the daemon (`gt up`) on the coordinator's machine"];
  const ran = r.loops.filter((l) => l.runs > 0n || l.lastError !== '');
  const each = ran.map((l) => {
    const last = l.lastError === '' ? `last ${l.lastAt}` : color.red(`failed: ${l.lastError}`);
    return `  ${l.rig} ${l.loop}: every ${l.intervalMs / 1000} s, ${String(l.runs)} run(s), ${last}`;
  });
  return [`loops: own (this machine's node agent patrols and merges)`, ...each];
}

export async function machineStatus(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  machineName(name);
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const res = await client.machineStatus({ name });
    if (opts.json === true) return printJson(messageJson(MachineStatusResponseSchema, res));
    const m = res.machine;
    const r = res.report;
    if (m === undefined) return;
    const lines = [
      `${color.bold('Machine')} ${m.name}  [${m.type}] ${m.address}`,
      `state: ${stateText(m)}${m.detail === '' ? '' : `  (${m.detail})`}`,
      `agent: ${m.agentVersion || '-'} (protocol ${m.protocolVersion || '-'})`,
      `polecats: ${polecats(m)}   labels: ${m.labels.join(',') || '-'}   last seen: ${m.lastSeenAt || 'never'}`,
    ];
    if (r !== undefined) {
      const free = Number(r.diskFreeBytes) / GiB;
      const total = Number(r.diskTotalBytes) / GiB;
      lines.push(
        `platform: ${r.platform}, node ${r.nodeVersion}, ${r.cpus} cpu(s), host ${r.hostname}`,
        `disk: ${free.toFixed(1)} GiB free of ${total.toFixed(1)} GiB (${r.townRoot})`,
        `load: ${r.loadAverage.map((x) => x.toFixed(2)).join(' ')}`,
        `clock offset: ${String(res.clockOffsetMs)} ms`,
        `rigs homed: ${r.rigs.join(', ') || '-'}`,
        `sessions: ${r.sessions.map((s) => `${s.address} (${s.name})`).join(', ') || '-'}`,
        ...loopLines(r),
      );
    } else lines.push(color.red('no report: the machine did not answer'));
    out(lines.join('\n'));
    if (r === undefined) process.exitCode = 1;
  });
}

export async function machineRemove(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  machineName(name);
  const opts = optionsOf(args);
  if (opts.delete === true)
    return (await import('./machine-gcp-life.js')).machineRemoveAndDelete(...args);
  await withCoordinator(opts, async ({ client }) => {
    const res = await client.removeMachine({ name, force: opts.force === true });
    if (opts.json === true) return printJson(messageJson(RemoveMachineResponseSchema, res));
    out(`removed machine "${res.name}" from config/federation.json`);
    if (res.rigsLeft.length > 0)
      err(`warning: left behind on ${res.name}, unmanaged: rig(s) ${res.rigsLeft.join(', ')}`);
    if (res.polecatsLeft.length > 0)
      err(
        `warning: left behind on ${res.name}, unmanaged: polecat(s) ${res.polecatsLeft.join(', ')}`,
      );
  });
}

export async function machineShrink(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const res = await client.shrinkGrown({ dryRun: opts.dryRun === true });
    if (opts.json === true) return printJson(messageJson(ShrinkGrownResponseSchema, res));
    if (res.machines.length === 0) return out('No grown machines.');
    for (const m of res.machines)
      out(
        m.outcome === 'deleted'
          ? `deleted ${m.name} (swarm ${m.swarm}: ${m.machineMinutes} machine-minutes so far)`
          : `${m.outcome} ${m.name}${m.reason === '' ? '' : `: ${m.reason}`}`,
      );
    if (res.machines.some((m) => m.outcome === 'failed')) process.exitCode = 1;
  });
}
