/**
 * gt doctor across the fleet: every machine is examined in parallel, each within its own time,
 * so a hung machine never holds up the others. For each machine other than the coordinator's:
 *   ssh and gcp machines, over their own SSH connection (it works while the node agent is down;
 *   a gcp instance's address is looked up through the Compute API first, as on every connect):
 *     machine-reachable  log in (auth, refused, timeout, unreachable are told apart)
 *     host-key           the key matches the town's known_hosts
 *     agent-service      the node agent's supervisor runs and its socket is there
 *                        (--fix starts it again from .gt/current)
 *     machine-disk       free space on the town path's filesystem
 *   every machine, through its node agent:
 *     agent-version      the agent's version against this coordinator's (skew)
 *     clock-offset       the machine's clock against ours
 *   and then that machine's own doctor checks (workspace, rigs, swarm).
 */
import {
  GT_VERSION,
  GtError,
  create,
  DoctorFindingSchema,
  errorMessage,
  type DoctorFinding,
} from '../proto/index.js';
import { askMachine, asGtError } from './fan-out.js';
import type { Machine } from './federation.js';
import type { ComputeApi } from './gcp/index.js';
import type { MachineRegistry } from './machines.js';

export interface FleetDoctorOptions {
  registry: MachineRegistry;
  townRoot: string;
  /** The coordinator's own machine (its checks are the workspace's, not the fleet's). */
  home: string;
  /** The SSH look at one machine (default 10 s), the report (5 s), its doctor (60 s). */
  checkMs: number;
  answerMs: number;
  doctorMs: number;
  /** The Compute API, for the address of gcp machines. */
  compute?: (() => Promise<ComputeApi>) | undefined;
}

export interface MachineDoctor {
  findings: DoctorFinding[];
  fixed: string[];
}

/** Clock offsets beyond this are a warning (leases, heartbeats and mail times drift apart). */
export const CLOCK_WARNING_MS = 5_000;
const MiB = 1024 ** 2;
/** Free space under the town path: below these, warning / error (the node agent's floors). */
export const MACHINE_DISK = { warningBytes: 256 * MiB, errorBytes: 16 * MiB } as const;

function finding(
  machine: string,
  check: string,
  status: 'ok' | 'warning' | 'error',
  message: string,
  hint = '',
  fixable = false,
): DoctorFinding {
  return create(DoctorFindingSchema, {
    check,
    scope: 'machine',
    rig: '',
    status,
    message,
    hint,
    fixable,
    machine,
  });
}

/** Run `fn` with a signal that aborts after `ms`; the answer never waits longer than that. */
async function within<T>(
  ms: number,
  what: string,
  parent: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new GtError('GT_TIMEOUT', `${what} did not answer within ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    const run = fn(controller.signal);
    run.catch(() => undefined);
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onAbort);
  }
}

type SshMachine = Extract<Machine, { type: 'ssh' }>;

interface SshLook {
  machine: SshMachine;
  /** user@host:port, and the instance for a gcp machine. */
  address: string;
  hostKeyAlias?: string;
  userKnownHosts?: string;
}

/** Where to look: an ssh machine as it is; a gcp instance's address looked up now. */
async function sshLookOf(
  o: FleetDoctorOptions,
  name: string,
  machine: Machine,
  signal: AbortSignal,
): Promise<SshLook | undefined> {
  if (machine.type === 'ssh')
    return { machine, address: `${machine.user}@${machine.host}:${machine.port}` };
  if (machine.type !== 'gcp') return undefined;
  if (o.compute === undefined)
    throw new GtError('GT_GCP_FAILED', `machine ${name}: no Compute API in this process`);
  const gcp = await import('./gcp/index.js');
  const api = await o.compute();
  try {
    const r = await gcp.resolveInstance(api, name, machine, signal);
    return {
      machine: gcp.asSshMachine(machine, r.host),
      address: `${machine.user}@${r.host}:${gcp.GCP_SSH_PORT}, instance ${machine.project}/${machine.zone}/${machine.instance}`,
      hostKeyAlias: r.hostKeyAlias,
      userKnownHosts: gcp.gcloudKnownHostsPath(),
    };
  } finally {
    await api.close();
  }
}

/** The SSH look at an ssh or gcp machine; false when the node agent cannot be there to ask. */
async function sshChecks(
  o: FleetDoctorOptions,
  name: string,
  fix: boolean,
  signal: AbortSignal | undefined,
  out: MachineDoctor,
): Promise<boolean> {
  const entry = o.registry.machine(name);
  if (entry?.type !== 'ssh' && entry?.type !== 'gcp') return true;
  let address =
    entry.type === 'ssh'
      ? `${entry.user}@${entry.host}:${entry.port}`
      : `instance ${entry.project}/${entry.zone}/${entry.instance}`;
  let machine = entry.type === 'ssh' ? entry : undefined;
  const { checkAgentService, isHostKeyError } = await import('./ssh/index.js');
  let result: Awaited<ReturnType<typeof checkAgentService>>;
  try {
    result = await within(
      o.checkMs,
      `machine "${name}" (${entry.type} ${address})`,
      signal,
      async (s) => {
        const look = await sshLookOf(o, name, entry, s);
        if (look === undefined) throw new GtError('GT_INTERNAL', `machine ${name} has no ssh path`);
        ({ address, machine } = look);
        return checkAgentService({
          townRoot: o.townRoot,
          name,
          machine: look.machine,
          fix,
          signal: s,
          ...(look.hostKeyAlias === undefined ? {} : { hostKeyAlias: look.hostKeyAlias }),
          ...(look.userKnownHosts === undefined ? {} : { userKnownHosts: look.userKnownHosts }),
        });
      },
    );
  } catch (err) {
    const gt = asGtError(err);
    o.registry.noteFailure(
      name,
      gt.code.startsWith('GT_SSH') ? new GtError('GT_MACHINE_UNREACHABLE', gt.message) : gt,
    );
    if (isHostKeyError(gt))
      out.findings.push(
        finding(name, 'host-key', 'error', `machine ${name}: ${gt.message}`, gt.hint ?? ''),
      );
    else
      out.findings.push(
        finding(
          name,
          'machine-reachable',
          'error',
          gt.message.includes(name) ? gt.message : `machine ${name} (${address}): ${gt.message}`,
          gt.hint ?? `check it with \`gt machine status ${name}\``,
        ),
      );
    return false;
  }
  const townPath = machine?.town_path ?? entry.town_path;
  out.findings.push(
    finding(name, 'machine-reachable', 'ok', `machine ${name}: logged in over ssh (${address})`),
  );
  out.findings.push(
    finding(
      name,
      'host-key',
      'ok',
      `machine ${name}: host key ${result.hostKey?.fingerprint ?? ''} matches config/known_hosts`,
    ),
  );
  const free = result.platform.diskFreeBytes;
  const level =
    free < MACHINE_DISK.errorBytes ? 'error' : free < MACHINE_DISK.warningBytes ? 'warning' : 'ok';
  out.findings.push(
    finding(
      name,
      'machine-disk',
      level,
      `machine ${name}: ${(free / 1024 ** 3).toFixed(1)} GiB free under ${townPath}`,
      level === 'ok'
        ? ''
        : `free space on ${name} (its town's logs: \`gt doctor --fix\` empties them once its agent runs)`,
    ),
  );
  const { platform } = result;
  if (result.restarted) {
    out.fixed.push(`${name}: started the node agent service (it was not running)`);
    out.findings.push(
      finding(name, 'agent-service', 'ok', `machine ${name}: node agent service started again`),
    );
    return true;
  }
  if (platform.agentRunning) {
    out.findings.push(
      finding(name, 'agent-service', 'ok', `machine ${name}: node agent service running`),
    );
    return true;
  }
  if (platform.current === undefined) {
    out.findings.push(
      finding(
        name,
        'agent-service',
        'error',
        `machine ${name}: no node agent is installed under ${townPath}`,
        `install it: \`gt machine provision ${name}\``,
      ),
    );
    return false;
  }
  out.findings.push(
    finding(
      name,
      'agent-service',
      'error',
      `machine ${name}: the node agent service is not running${result.restartError === undefined ? '' : ` (starting it failed: ${result.restartError})`}`,
      result.restartError === undefined
        ? '`gt doctor --fix` starts it again'
        : `its log is ${townPath}/run/node-agent.log on ${name}; \`gt machine provision ${name}\` reinstalls and starts it`,
      result.restartError === undefined,
    ),
  );
  return false;
}

/** Version skew and clock offset, from the agent's handshake and report. */
async function agentChecks(
  o: FleetDoctorOptions,
  name: string,
  signal: AbortSignal | undefined,
  out: MachineDoctor,
): Promise<boolean> {
  const sent = Date.now();
  let report;
  try {
    report = await askMachine(o.registry, name, (c, s) => c.report({}, { signal: s }), {
      timeoutMs: o.answerMs,
      signal,
    });
  } catch (err) {
    const gt = asGtError(err);
    if (gt.code === 'GT_VERSION_SKEW')
      out.findings.push(finding(name, 'agent-version', 'error', gt.message, gt.hint ?? ''));
    else
      out.findings.push(
        finding(
          name,
          'machine-reachable',
          'error',
          `machine ${name}: ${gt.message}`,
          gt.hint ?? `check it with \`gt machine status ${name}\``,
        ),
      );
    return false;
  }
  const offset = Date.parse(report.now) - Math.round((sent + Date.now()) / 2);
  const m = o.registry.describe().find((d) => d.name === name);
  const version = m?.agentVersion ?? report.agentVersion;
  if (m?.upgradeAvailable === true || version !== GT_VERSION)
    out.findings.push(
      finding(
        name,
        'agent-version',
        'warning',
        `machine ${name}: node agent ${version} (protocol ${m?.protocolVersion ?? '?'}), coordinator ${GT_VERSION}: upgrade available`,
        `install this version there: \`gt machine upgrade ${name}\``,
      ),
    );
  else
    out.findings.push(
      finding(
        name,
        'agent-version',
        'ok',
        `machine ${name}: node agent ${version}, same as the coordinator`,
      ),
    );
  out.findings.push(
    Math.abs(offset) > CLOCK_WARNING_MS
      ? finding(
          name,
          'clock-offset',
          'warning',
          `machine ${name}: its clock is ${offset} ms off ours`,
          `turn on time sync there (systemd-timesyncd, chrony or ntpd)`,
        )
      : finding(
          name,
          'clock-offset',
          'ok',
          `machine ${name}: clock within ${Math.abs(offset)} ms of ours`,
        ),
  );
  return true;
}

function unreachableFinding(name: string, err: unknown): DoctorFinding {
  const gt = asGtError(err);
  return finding(
    name,
    'machine-reachable',
    'error',
    `machine ${name}: ${gt.message || errorMessage(err)}`,
    gt.hint ?? `check it with \`gt machine status ${name}\``,
  );
}

/**
 * The checks of the machine itself: for an ssh machine over its own SSH connection (--fix starts
 * a stopped agent service), then through its agent. Whether its own doctor can be asked.
 */
export async function machineChecks(
  o: FleetDoctorOptions,
  name: string,
  fix: boolean,
  signal: AbortSignal | undefined,
  out: MachineDoctor,
): Promise<boolean> {
  if (name === o.home) return true;
  try {
    if (!(await sshChecks(o, name, fix, signal, out))) return false;
    return await agentChecks(o, name, signal, out);
  } catch (err) {
    out.findings.push(unreachableFinding(name, err));
    return false;
  }
}

/** The machine's own doctor (its town, rigs, sessions), told who holds issues elsewhere. */
export async function machineDoctor(
  o: FleetDoctorOptions,
  name: string,
  fix: boolean,
  signal: AbortSignal | undefined,
  out: MachineDoctor,
  polecatsElsewhere: string[],
): Promise<void> {
  try {
    const report = await askMachine(
      o.registry,
      name,
      (c, s) => c.doctor({ fix, polecatsElsewhere }, { signal: s }),
      { timeoutMs: o.doctorMs, signal },
    );
    for (const f of report.findings) out.findings.push({ ...f, machine: name });
    for (const line of report.fixed) out.fixed.push(name === o.home ? line : `${name}: ${line}`);
  } catch (err) {
    out.findings.push(unreachableFinding(name, err));
  }
}
