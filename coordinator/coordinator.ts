/**
 * The Coordinator service: what `gt` calls. Routes each request by machine / address to the node
 * agent that owns it, and aggregates fleet-wide answers (rigs, status, doctor).
 */
import { hostname } from 'node:os';
import type { Coordinator } from '../proto/index.js';
import {
  create,
  DoctorFindingSchema,
  GT_VERSION,
  GtError,
  formatAddress,
  newMailId,
  parseAddress,
  type DoctorFinding,
  type ImplOf,
  type MachineInfo,
  type RigInfo,
} from '../proto/index.js';
import { FleetDirectory } from './directory.js';
import { DEFAULT_MACHINE_TIMEOUT_MS } from './fan-out.js';
import type { MachineRegistry } from './machines.js';
import { sessionRoutes } from './session-routes.js';
import { witnessRoutes } from './witness-routes.js';

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
}

export type CoordinatorImpl = ImplOf<typeof Coordinator>;

const LOCAL = 'local';

export function createCoordinator(options: CoordinatorOptions): CoordinatorImpl {
  const { registry, townRoot } = options;
  const startedAt = (options.startedAt ?? new Date()).toISOString();
  const agent = async (machine: string | undefined) =>
    (await registry.connect(machine === undefined || machine === '' ? LOCAL : machine)).client;

  const machines = (): MachineInfo[] =>
    registry.describe().map((m) => ({
      $typeName: 'gastown.v1.MachineInfo',
      name: m.name,
      type: m.type,
      state: m.state,
      agentVersion: m.agentVersion,
      detail: m.detail,
    }));

  /** Run `fn` on every machine; an unreachable machine is reported, not fatal. */
  async function fanOut<T>(
    fn: (machine: string) => Promise<T>,
  ): Promise<Array<{ machine: string; value?: T; error?: GtError }>> {
    return Promise.all(
      registry.names().map(async (machine) => {
        try {
          return { machine, value: await fn(machine) };
        } catch (err) {
          const gt = err instanceof GtError ? err : new GtError('GT_INTERNAL', String(err));
          return { machine, error: gt };
        }
      }),
    );
  }

  const directory = new FleetDirectory({
    registry,
    home: LOCAL,
    timeoutMs: options.machineTimeoutMs ?? DEFAULT_MACHINE_TIMEOUT_MS,
  });
  const machineOf = async (address: string) => {
    const r = await directory.route(address);
    return { machine: r.machine, local: r.address };
  };

  return {
    async getInfo() {
      return {
        version: GT_VERSION,
        mode: options.mode,
        pid: process.pid,
        townRoot,
        machines: machines(),
        startedAt,
      };
    },
    async installTown(req) {
      const info = await (
        await agent(LOCAL)
      ).installTown({ root: req.root, name: req.name, force: req.force });
      return { ...info, machine: LOCAL };
    },
    async addRig(req, ctx) {
      const machine = req.machine === '' ? LOCAL : req.machine;
      const rig = await (
        await agent(machine)
      ).addRig({ name: req.name, gitUrl: req.gitUrl, prefix: req.prefix }, { signal: ctx.signal });
      directory.rigAdded(rig.name, machine);
      return { ...rig, machine };
    },
    async removeRig(req) {
      const machine = await directory.rigHome(req.name);
      const res = await (await agent(machine)).removeRig({ name: req.name, force: req.force });
      directory.rigRemoved(req.name);
      return { name: res.name, path: res.path, machine };
    },
    async listRigs() {
      const results = await fanOut(async (machine) => (await agent(machine)).listRigs({}));
      const rigs: RigInfo[] = [];
      for (const r of results) {
        if (r.error !== undefined) throw r.error;
        for (const rig of r.value?.rigs ?? []) rigs.push({ ...rig, machine: r.machine });
      }
      return { rigs: rigs.sort((a, b) => a.name.localeCompare(b.name)) };
    },
    async getStatus() {
      const local = await (await agent(LOCAL)).getStatus({});
      return {
        town: local.town,
        machines: machines(),
        rigs: local.rigs,
        mayor: local.mayor,
        tmux: local.tmux,
      };
    },
    async doctor(req) {
      // config/federation.json itself is validated before this runs (the registry is built from
      // it) and by the node agent's federation-config check; here only reachability is added.
      const findings: DoctorFinding[] = [];
      const fixed: string[] = [];
      const results = await fanOut(async (machine) =>
        (await agent(machine)).doctor({ fix: req.fix }),
      );
      for (const r of results) {
        if (r.error !== undefined) {
          findings.push(
            create(DoctorFindingSchema, {
              check: 'machine-reachable',
              scope: 'machine',
              rig: '',
              status: 'error',
              message: `machine ${r.machine}: ${r.error.message}`,
              hint: r.error.hint ?? '',
              fixable: false,
              machine: r.machine,
            }),
          );
          continue;
        }
        for (const f of r.value?.findings ?? []) findings.push({ ...f, machine: r.machine });
        for (const line of r.value?.fixed ?? [])
          fixed.push(r.machine === LOCAL ? line : `${r.machine}: ${line}`);
      }
      if (options.federationProblem !== undefined)
        reportFederationProblem(findings, options.federationProblem);
      return { findings, fixed };
    },
    async prime(req) {
      return (await agent(LOCAL)).prime({ cwd: req.cwd });
    },
    async sendMail(req) {
      const { machine, local } = await machineOf(req.to);
      const from = req.from === '' ? 'overseer' : formatAddress(parseAddress(req.from));
      const id = req.id === '' ? newMailId() : req.id;
      const res = await (
        await agent(machine)
      ).deliverMail({
        message: {
          id,
          from,
          to: local,
          subject: req.subject,
          body: req.body,
          createdAt: new Date().toISOString(),
          priority: req.priority === '' ? 'normal' : req.priority,
          type: req.type === '' ? 'notice' : req.type,
          threadId: req.threadId,
          replyTo: req.replyTo,
        },
      });
      return { id: res.id, to: req.to, state: 'delivered' };
    },
    async listMail(req) {
      const { machine, local } = await machineOf(req.address);
      const res = await (
        await agent(machine)
      ).listMail({ address: local, unreadOnly: req.unreadOnly });
      return { messages: res.messages, warnings: res.warnings };
    },
    async markMailRead(req) {
      const { machine, local } = await machineOf(req.address);
      const res = await (
        await agent(machine)
      ).markMailRead({ address: local, ids: req.ids, all: req.all });
      return { marked: res.marked };
    },
    async readMail(req) {
      const { machine, local } = await machineOf(req.address);
      return (await agent(machine)).readMail({ address: local, id: req.id, peek: req.peek });
    },
    ...sessionRoutes({ directory, agent, machines: () => registry.names() }),
    ...witnessRoutes({ directory, agent, machines: () => registry.names() }),
    async shutdown() {
      if (options.onShutdown === undefined) return { stopping: false };
      setImmediate(options.onShutdown);
      return { stopping: true };
    },
  };
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
