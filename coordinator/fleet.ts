/**
 * The coordinator's fleet-wide answers: every machine is asked in parallel with its own timeout,
 * and a machine that is down, hung or refused is named with its state and reason — it never
 * delays or fails the answer for the others (DESIGN §6).
 */
import type { ComputeApi } from './gcp/index.js';
import {
  GtError,
  passThrough,
  type ImplOf,
  type Coordinator,
  type MachineInfo,
  type RigInfo,
  type RigStatus,
  type SwarmInfo,
} from '../proto/index.js';
import type { FleetDirectory } from './directory.js';
import type { Machine } from './federation.js';
import { askEach, failureLines, type MachineAnswer } from './fan-out.js';
import { polecatsElsewhere } from './fleet-doctor-claims.js';
import { machineChecks, machineDoctor, type MachineDoctor } from './fleet-doctor.js';
import type { MachineDescription, MachineRegistry } from './machines.js';

type Impl = ImplOf<typeof Coordinator>;
export type FleetMethods = Pick<
  Impl,
  'listRigs' | 'getStatus' | 'doctor' | 'stopSessions' | 'listSwarms' | 'cancelSwarm'
>;

export interface FleetTimeouts {
  /** gt status, gt rigs, listings (default 5 s). */
  answerMs: number;
  /** gt doctor (its checks read every rig; default 60 s). */
  doctorMs: number;
  /** gt stop --all (default 30 s). */
  stopMs: number;
  /** gt doctor's look at an ssh machine over its own SSH connection (default 10 s). */
  checkMs: number;
}

export interface FleetOptions {
  townRoot: string;
  registry: MachineRegistry;
  directory: FleetDirectory;
  timeouts: FleetTimeouts;
  /** The Compute API (gt doctor looks up a gcp machine's address through it). */
  compute?: (() => Promise<ComputeApi>) | undefined;
}

export function machineInfo(
  m: MachineDescription,
  polecats = 0,
  /** Its entry of config/federation.json as it is now (grown machines change under a daemon). */
  entry?: Machine,
): MachineInfo {
  const gcp = entry?.type === 'gcp' ? entry : undefined;
  const shrink = gcp?.grown?.shrink_after_s;
  return {
    $typeName: 'gastown.v1.MachineInfo',
    name: m.name,
    type: m.type,
    state: m.state,
    agentVersion: m.agentVersion,
    detail: m.detail,
    address: m.address,
    protocolVersion: m.protocolVersion,
    upgradeAvailable: m.upgradeAvailable,
    maxPolecats: m.maxPolecats,
    polecats,
    labels: m.labels,
    lastSeenAt: m.lastSeenAt,
    draining: m.draining === true,
    machineType: gcp?.machine_type ?? '',
    createdAt: gcp?.created_at ?? '',
    grownBy: gcp?.grown?.swarm ?? '',
    grownTemplate: gcp?.grown?.template ?? '',
    expiry: shrink === undefined ? '' : `${shrink}s idle after the swarm is complete`,
  };
}

/** The registry's view of the machines that failed in `answers`, with their reasons. */
function unreachable(registry: MachineRegistry, answers: Array<MachineAnswer<unknown>>) {
  const failed = new Map(answers.flatMap((a) => (a.error === undefined ? [] : [[a.machine, a]])));
  return registry
    .describe()
    .filter((m) => failed.has(m.name))
    .map((m) => machineInfo({ ...m, detail: failed.get(m.name)?.error?.message ?? m.detail }));
}

/** The polecats of a machine's status, as the directory keeps them. */
function polecatsOf(rigs: RigStatus[]): Array<{ rig: string; name: string; issue: string }> {
  return rigs.flatMap((r) =>
    r.agents
      .filter((a) => a.role === 'polecat' && a.name !== '')
      .map((a) => ({ rig: a.rig, name: a.name, issue: a.issue })),
  );
}

function countPolecats(rigs: RigStatus[]): number {
  return rigs.reduce((n, r) => n + r.agents.filter((a) => a.role === 'polecat').length, 0);
}

export function fleetMethods(options: FleetOptions): FleetMethods {
  const { registry, directory, timeouts } = options;
  const all = (): string[] => registry.names();
  return {
    async listRigs(_req, ctx) {
      const answers = await askEach(
        registry,
        all(),
        async (c, signal) => (await c.listRigs({}, { signal })).rigs,
        { timeoutMs: timeouts.answerMs, signal: ctx.signal, heartbeatVerdict: true },
      );
      throwIfNoneAnswered(answers);
      const rigs: RigInfo[] = [];
      for (const a of answers) {
        if (a.value === undefined) continue;
        directory.rigsListed(
          a.machine,
          a.value.map((r) => r.name),
        );
        for (const rig of a.value) rigs.push({ ...rig, machine: a.machine });
      }
      rigs.sort((x, y) => x.name.localeCompare(y.name));
      return { rigs, unreachable: unreachable(registry, answers) };
    },

    async getStatus(_req, ctx) {
      // A machine the heartbeat watch says is disconnected is shown so at once (with since
      // when), not after the status's own timeout as "unreachable".
      const answers = await askEach(registry, all(), (c, signal) => c.getStatus({}, { signal }), {
        timeoutMs: timeouts.answerMs,
        signal: ctx.signal,
        heartbeatVerdict: true,
      });
      const home = answers.find((a) => a.machine === directory.home);
      if (home?.value === undefined) throw home?.error ?? new GtError('GT_INTERNAL', 'no home');
      const rigs: RigStatus[] = [];
      const polecats = new Map<string, number>();
      for (const a of answers) {
        if (a.value === undefined) continue;
        directory.rigsListed(
          a.machine,
          a.value.rigs.flatMap((r) => (r.rig === undefined ? [] : [r.rig.name])),
        );
        polecats.set(a.machine, countPolecats(a.value.rigs));
        directory.polecatsListed(
          a.machine,
          a.value.rigs.flatMap((r) => (r.rig === undefined ? [] : [r.rig.name])),
          polecatsOf(a.value.rigs),
        );
        for (const r of a.value.rigs)
          rigs.push({
            ...r,
            ...(r.rig === undefined ? {} : { rig: { ...r.rig, machine: a.machine } }),
          });
      }
      const failed = new Map(unreachable(registry, answers).map((m) => [m.name, m]));
      // No last-seen time here: a status is the same answer whichever process serves it.
      return {
        town: home.value.town,
        machines: registry
          .describe()
          .map((m) => ({ ...(failed.get(m.name) ?? machineInfo(m, polecats.get(m.name) ?? 0)) }))
          .map((m) => ({ ...m, lastSeenAt: '' })),
        rigs,
        mayor: home.value.mayor,
        tmux: home.value.tmux,
      };
    },

    async doctor(req, ctx) {
      const o = {
        registry,
        townRoot: options.townRoot,
        home: directory.home,
        checkMs: timeouts.checkMs,
        answerMs: timeouts.answerMs,
        doctorMs: timeouts.doctorMs,
        compute: options.compute,
      };
      const names = all();
      const each = names.map((): MachineDoctor => ({ findings: [], fixed: [] }));
      // First every machine's own checks at once (each within its own time; --fix may start a
      // stopped agent service), then who holds issues where (so a home does not take a claim
      // held elsewhere for an orphan), then each machine's doctor (fleet-doctor.ts).
      const ask = await Promise.all(
        names.map((name, i) => machineChecks(o, name, req.fix, ctx.signal, each[i]!)),
      );
      const asked = names.filter((_, i) => ask[i]);
      const elsewhere = await polecatsElsewhere(registry, asked, timeouts.answerMs, ctx.signal);
      await Promise.all(
        names.map((name, i) =>
          ask[i]
            ? machineDoctor(o, name, req.fix, ctx.signal, each[i]!, elsewhere.get(name) ?? [])
            : undefined,
        ),
      );
      return {
        findings: each.flatMap((m) => m.findings),
        fixed: each.flatMap((m) => m.fixed),
      };
    },

    async stopSessions(req, ctx) {
      if (!req.all) {
        const machine = await directory.rigHome(req.rig, ctx.signal);
        return (await registry.connect(machine)).client.stopSessions(req, passThrough(ctx));
      }
      // Emergency stop: every machine at once; one that cannot be reached is named, and the
      // others are stopped all the same.
      const answers = await askEach(
        registry,
        all(),
        (c, signal) => c.stopSessions(req, { signal }),
        { timeoutMs: timeouts.stopMs, signal: ctx.signal },
      );
      return {
        stopped: answers.flatMap((a) => a.value?.stopped ?? []),
        failures: failureLines(answers),
      };
    },

    async listSwarms(req, ctx) {
      // A worker's machine: the one recorded, else the rig's home (the machine that answered).
      const placed = (machine: string, s: SwarmInfo): SwarmInfo => ({
        ...s,
        issues: s.issues.map((i) => ({ ...i, machine: i.machine === '' ? machine : i.machine })),
      });
      if (req.rig !== '') {
        const machine = await directory.rigHome(req.rig, ctx.signal);
        const r = await (await registry.connect(machine)).client.listSwarms(req, passThrough(ctx));
        return {
          swarms: await withRemoteStates(
            registry,
            r.swarms.map((s) => placed(machine, s)),
            machine,
          ),
        };
      }
      const answers = await askEach(registry, all(), (c, signal) => c.listSwarms(req, { signal }), {
        timeoutMs: timeouts.answerMs,
        signal: ctx.signal,
        heartbeatVerdict: true,
      });
      const swarms = (
        await Promise.all(
          answers.map((a) =>
            withRemoteStates(
              registry,
              (a.value?.swarms ?? []).map((s) => placed(a.machine, s)),
              a.machine,
            ),
          ),
        )
      ).flat();
      if (req.id !== '' && swarms.length === 0) throw notFoundAnywhere(`swarm ${req.id}`, answers);
      return { swarms };
    },

    async cancelSwarm(req, ctx) {
      // A swarm lives with its rig's machine; the machine that knows the id cancels it.
      const answers = await askEach(
        registry,
        all(),
        (c, signal) => c.cancelSwarm(req, { signal }),
        {
          timeoutMs: timeouts.answerMs,
          signal: ctx.signal,
        },
      );
      const hit = answers.find((a) => a.value !== undefined);
      if (hit?.value !== undefined) return hit.value;
      throw notFoundAnywhere(`swarm ${req.id}`, answers);
    },
  };
}

/** Every machine failed: that is the answer (one machine's own error, code and hint kept). */
function throwIfNoneAnswered(answers: Array<MachineAnswer<unknown>>): void {
  if (answers.length === 0 || answers.some((a) => a.error === undefined)) return;
  const [first] = answers;
  if (answers.length === 1 && first?.error !== undefined) throw first.error;
  throw new GtError(
    'GT_MACHINE_UNREACHABLE',
    `no machine could answer: ${failureLines(answers).join('; ')}`,
    { hint: 'see `gt machine list` and `gt doctor`' },
  );
}

/**
 * Nobody had it: the machines' own "not found" when all answered, else say which could not be
 * asked (the thing may be there).
 */
function notFoundAnywhere(what: string, answers: Array<MachineAnswer<unknown>>): GtError {
  const transport = answers.filter(
    (a) => a.error !== undefined && ['GT_MACHINE_UNREACHABLE', 'GT_TIMEOUT'].includes(a.error.code),
  );
  const answered = answers.find((a) => a.error !== undefined && !transport.includes(a));
  if (transport.length === 0 && answered?.error !== undefined) return answered.error;
  if (transport.length === 0) return new GtError('GT_NOT_FOUND', `${what} not found`);
  return new GtError(
    'GT_MACHINE_UNREACHABLE',
    `${what} is on none of the machines that answered; not asked: ${failureLines(transport).join('; ')}`,
    { hint: 'see `gt machine list`; try again when the machine is back' },
  );
}

/**
 * Workers of a swarm that run on a machine other than the rig's home: their polecat state and
 * session are asked of that machine (the home only has the beads and merge states). A machine
 * that does not answer leaves them blank.
 */
async function withRemoteStates(
  registry: MachineRegistry,
  swarms: SwarmInfo[],
  home: string,
): Promise<SwarmInfo[]> {
  const wanted = new Map<string, Set<string>>(); // machine → rigs
  for (const s of swarms)
    for (const i of s.issues)
      if (i.machine !== home && i.machine !== '' && i.polecat !== '')
        wanted.set(i.machine, (wanted.get(i.machine) ?? new Set()).add(s.rig));
  if (wanted.size === 0) return swarms;
  const states = new Map<string, { state: string; alive: boolean; epoch: bigint }>();
  await Promise.all(
    [...wanted].map(async ([machine, rigs]) => {
      try {
        const { client } = await registry.connect(machine);
        for (const rig of rigs)
          for (const p of (
            await client.listPolecats({ rig }, { signal: AbortSignal.timeout(5_000) })
          ).polecats)
            states.set(`${machine}:${p.status?.address ?? ''}`, {
              state: p.status?.state ?? '',
              alive: p.status?.sessionAlive === true,
              epoch: p.status?.epoch ?? 0n,
            });
      } catch {
        /* not answering: shown blank */
      }
    }),
  );
  return swarms.map((s) => ({
    ...s,
    issues: s.issues.map((i) => {
      const st = states.get(`${i.machine}:${i.address}`);
      if (st === undefined || i.polecatState !== '') return i;
      const mine = st.epoch === i.epoch;
      return { ...i, polecatState: mine ? st.state : 'released', sessionAlive: mine && st.alive };
    }),
  }));
}
