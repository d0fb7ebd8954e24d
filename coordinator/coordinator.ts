/**
 * The Coordinator service: what `gt` calls. Routed rpcs are forwarded by one table
 * (forward.ts); fleet-wide answers ask every machine in parallel (fleet.ts); what is left here
 * is what only the coordinator does (placement of a new rig, mail ids, shutdown).
 */
import { hostname } from 'node:os';
import type { Coordinator } from '../proto/index.js';
import {
  create,
  GtError,
  DoctorFindingSchema,
  GT_VERSION,
  formatAddress,
  newMailId,
  parseAddress,
  passThrough,
  type DoctorFinding,
  type ImplOf,
} from '../proto/index.js';
import { FleetDirectory } from './directory.js';
import { DEFAULT_MACHINE_TIMEOUT_MS } from './fan-out.js';
import { fleetMethods, machineInfo } from './fleet.js';
import { forwardedMethods, type RoutedMethod } from './forward.js';
import { readFederation } from './federation.js';
import type { ComputeApi } from './gcp/index.js';
import { GrownShrinker, findSwarm, shrinkGrownMethod } from './grown-shrink.js';
import { Liveness, type LivenessOptions } from './liveness.js';
import { Outbox, outboxProblems, wireMessage } from './outbox.js';
import { machineMethods } from './machine-rpcs.js';
import { reassignLost, reassignMethod } from './reassign.js';
import { placedWork } from './placed-work.js';
import { answerRelay } from './relay.js';
import { escalateToMayor } from './mayor-mail.js';
import type { MachineRegistry } from './machines.js';

export type CoordinatorMode = 'embedded' | 'daemon';

export interface CoordinatorOptions {
  townRoot: string;
  mode: CoordinatorMode;
  registry: MachineRegistry;
  /** Called by the Shutdown rpc (daemon mode); embedded mode leaves it undefined. */
  onShutdown?: () => void;
  startedAt?: Date;
  /**
   * config/federation.json could not be used (a read-only diagnosis went on with the local
   * machine only): the doctor reports it as the federation-config finding.
   */
  federationProblem?: GtError;
  /** Time each machine gets to answer a fleet-wide question (default 5 s). */
  machineTimeoutMs?: number;
  /** Time each machine gets for gt doctor (default 60 s) and gt stop --all (default 30 s). */
  doctorTimeoutMs?: number;
  stopTimeoutMs?: number;
  /** Time gt doctor's SSH look at each ssh machine gets (default 10 s). */
  checkTimeoutMs?: number;
  /**
   * Watch every machine's heartbeats (the daemon): states disconnected and lost, and the Mayor's
   * escalation for a lost machine. Its stop is pushed onto `closers`.
   */
  liveness?: Omit<LivenessOptions, 'registry' | 'machines' | 'onLost' | 'onConnected'>;
  /**
   * Town policy (`fleet.reassign_lost` in config/town.json, default off): a machine that turns
   * lost has its issues given back at once, as `gt machine reassign` would.
   */
  reassignLost?: boolean;
  /**
   * The fleet directory to keep (default: a new one). A test places a polecat on a machine other
   * than its rig's home through it, as a spawn there records it.
   */
  directory?: FleetDirectory;
  closers?: Array<() => Promise<void>>;
  /** The Compute API (gcp machines: deleting the machines elastic swarms grew). */
  compute?: () => Promise<ComputeApi>;
}

export type CoordinatorImpl = ImplOf<typeof Coordinator>;

const LOCAL = 'local';

export function createCoordinator(options: CoordinatorOptions): CoordinatorImpl {
  const { registry, townRoot } = options;
  const startedAt = (options.startedAt ?? new Date()).toISOString();
  const answerMs = options.machineTimeoutMs ?? DEFAULT_MACHINE_TIMEOUT_MS;
  const directory =
    options.directory ?? new FleetDirectory({ registry, home: LOCAL, timeoutMs: answerMs });
  const fleet = fleetMethods({
    townRoot,
    registry,
    directory,
    timeouts: {
      answerMs,
      doctorMs: options.doctorTimeoutMs ?? 60_000,
      stopMs: options.stopTimeoutMs ?? 30_000,
      checkMs: options.checkTimeoutMs ?? 10_000,
    },
    compute: options.compute,
  });
  const forwarded = forwardedMethods({
    registry,
    directory,
    // Read afresh: `gt machine drain` changes config/federation.json under a running daemon.
    isDraining: async (machine) =>
      (await readFederation(townRoot).catch(() => undefined))?.machines[machine]?.draining === true,
  }) as unknown as Pick<CoordinatorImpl, RoutedMethod>;

  const machines = machineMethods({ townRoot, registry, directory, timeoutMs: answerMs });
  const outbox = new Outbox({ townRoot, registry, timeoutMs: answerMs });
  let watch: Liveness | undefined;
  const reassign = { registry, directory, liveness: () => watch };
  const placed = placedWork({
    townRoot,
    registry,
    directory,
    outbox,
    forwarded,
    timeoutMs: answerMs,
  });
  if (options.liveness !== undefined) {
    const liveness = new Liveness({
      ...options.liveness,
      registry,
      machines: () => registry.names(),
      // A machine that (re)joins says what runs there: the directory follows at once. Mail that
      // waits for it goes now, in queue order, not when its backoff (up to minutes after a long
      // partition) next comes due.
      onConnected: (machine) => {
        void directory.refresh([machine]).catch(() => undefined);
        void outbox.drain({ machines: [machine], force: true }).catch(() => undefined);
      },
      // A gt/bd call from a session on that machine: answered as if run here.
      relay: (machine, req, signal) => answerRelay(impl, machine, req, signal),
      onLost: async (machine, silentSince) => {
        if (options.reassignLost === true) {
          await reassignLost(reassign, machine, false);
          return;
        }
        const held = directory.heldOn(machine);
        const lines = held.map((h) => `- ${h.polecat}${h.issue === '' ? '' : ` (${h.issue})`}`);
        await escalateToMayor(registry, LOCAL, {
          subject: `machine ${machine} lost (silent since ${silentSince})`,
          body: `Machine ${machine} has sent no heartbeat since ${silentSince}. Its sessions may still run; nothing was reassigned.\n\n${held.length === 0 ? 'No polecats were last seen there.' : `Last seen there:\n${lines.join('\n')}`}\n\nLook with \`gt machine status ${machine}\`. If it is gone for good, give its issues back with \`gt machine reassign ${machine}\`.`,
        });
      },
    });
    liveness.start();
    watch = liveness;
    options.closers?.push(() => liveness.stop());
  }

  const impl: CoordinatorImpl = {
    ...forwarded,
    ...fleet,
    ...machines,
    ...reassignMethod(reassign),
    ...placed,
    async getInfo() {
      return {
        version: GT_VERSION,
        mode: options.mode,
        pid: process.pid,
        townRoot,
        machines: registry.describe().map((m) => machineInfo(m)),
        startedAt,
      };
    },
    async addRig(req, ctx) {
      const machine = req.machine === '' ? LOCAL : req.machine;
      const rig = await (
        await registry.connect(machine)
      ).client.addRig({ name: req.name, gitUrl: req.gitUrl, prefix: req.prefix }, passThrough(ctx));
      directory.rigAdded(rig.name, machine);
      return { ...rig, machine };
    },
    async doctor(req, ctx) {
      // config/federation.json itself is validated before this runs (the registry is built from
      // it) and by the node agent's federation-config check; the fleet adds reachability.
      const report = await fleet.doctor(req, ctx);
      const findings = [...(report.findings ?? [])] as DoctorFinding[];
      if (options.federationProblem !== undefined)
        reportFederationProblem(findings, options.federationProblem);
      const held = outboxProblems(outbox);
      for (const p of held.length === 0
        ? [{ status: 'ok', message: 'mail outbox: nothing waits for a machine', hint: '' }]
        : held)
        findings.push(
          create(DoctorFindingSchema, {
            check: 'mail-outbox',
            scope: 'workspace',
            rig: '',
            fixable: false,
            machine: LOCAL,
            ...p,
          }),
        );
      return { findings, fixed: report.fixed ?? [] };
    },
    async sendMail(req, ctx) {
      // A message with neither subject nor body says nothing: refuse it rather than deliver it.
      if (req.subject.trim() === '' && req.body.trim() === '')
        throw new GtError(
          'GT_INVALID_ARGUMENT',
          'the message has an empty subject and an empty body',
          {
            hint: 'say something: -s "subject" and/or -m "text"',
          },
        );
      const to = await directory.route(req.to, ctx.signal);
      const from = req.from === '' ? 'overseer' : formatAddress(parseAddress(req.from));
      const id = req.id === '' ? newMailId() : req.id;
      const message = {
        id,
        from,
        to: to.address,
        subject: req.subject,
        body: req.body,
        createdAt: req.createdAt === '' ? new Date().toISOString() : req.createdAt,
        priority: req.priority === '' ? 'normal' : req.priority,
        type: req.type === '' ? 'notice' : req.type,
        threadId: req.threadId,
        replyTo: req.replyTo,
        // Every field the sender wrote travels with it (the Refinery's epoch, head, issue …).
        ...(req.epoch > 0n ? { epoch: Number(req.epoch) } : {}),
        ...(req.extraJson === '' ? {} : { extraJson: req.extraJson }),
      };
      // This machine's own inboxes: one durable append, nothing to wait for.
      if (to.machine === LOCAL) {
        const res = await (
          await registry.connect(to.machine)
        ).client.deliverMail({ message: wireMessage(message) }, passThrough(ctx));
        return { id: res.id, to: req.to, state: 'delivered', detail: '' };
      }
      // Another machine: durable in the outbox first, then delivered after what waits for it.
      await outbox.enqueue(to.machine, message);
      const sent = await outbox.drain({
        machines: [to.machine],
        force: true,
        fresh: id,
        signal: ctx.signal,
      });
      const refused = sent.failed.get(id);
      if (refused !== undefined) throw refused;
      if (sent.delivered.includes(id)) return { id, to: req.to, state: 'delivered', detail: '' };
      return {
        id,
        to: req.to,
        state: 'queued',
        detail: `machine ${to.machine} unreachable: ${sent.waiting.get(to.machine) ?? 'unknown'}`,
      };
    },
    async listOutbox(req, ctx) {
      const delivered = req.retry
        ? (await outbox.drain({ force: !req.dueOnly, signal: ctx.signal })).delivered
        : [];
      const { entries, warnings } = outbox.list();
      return {
        delivered,
        warnings,
        entries: entries.map((e) => ({
          message: wireMessage(e.message),
          machine: e.machine,
          queuedAt: e.queued_at,
          attempts: e.attempts,
          lastError: e.last_error ?? '',
          nextAttemptAt: e.next_attempt_at,
          file: e.file,
        })),
      };
    },
    shrinkGrown: shrinkGrownMethod(
      new GrownShrinker({
        townRoot,
        registry,
        timeoutMs: answerMs,
        swarm: (id, signal) => findSwarm(registry, id, answerMs, signal),
        compute:
          options.compute ??
          (() => Promise.reject(new GtError('GT_GCP_FAILED', 'no Compute API in this process'))),
      }),
      townRoot,
      async (message) => {
        await (await registry.connect(LOCAL)).client.deliverMail({ message });
      },
    ),
    async shutdown() {
      if (options.onShutdown === undefined) return { stopping: false };
      setImmediate(options.onShutdown);
      return { stopping: true };
    },
  };
  return impl;
}

/**
 * The registry's reading of federation.json is stricter than the node agent's federation-config
 * check (machine names, ssh fields): put the registry's error in that finding's place unless the
 * node agent already reports the file broken.
 */
function reportFederationProblem(findings: DoctorFinding[], problem: GtError): void {
  const localOnly = ' (so this report covers the local machine only)';
  const at = findings.findIndex((f) => f.check === 'federation-config' && f.machine === LOCAL);
  const own = at >= 0 ? findings[at] : undefined;
  const hint = `fix the named field in config/federation.json by hand; until it is valid every command but gt doctor refuses to run`;
  if (own?.status === 'error') {
    own.message += localOnly;
    own.hint = hint;
    return;
  }
  const finding = create(DoctorFindingSchema, {
    check: 'federation-config',
    scope: 'workspace',
    rig: '',
    status: 'error',
    message: `${problem.message}${localOnly}`,
    hint,
    fixable: false,
    machine: LOCAL,
  });
  if (at >= 0) findings[at] = finding;
  else findings.unshift(finding);
}

export const COORDINATOR_HOST = hostname();
