/**
 * gt machine list / status / remove: the registry's view of each machine, refreshed by asking
 * them all (each with its own timeout), one machine's report, and removal from
 * config/federation.json (refused while the machine homes rigs or runs polecats, unless forced).
 */
import { GtError, type Coordinator, type ImplOf } from '../proto/index.js';
import type { FleetDirectory } from './directory.js';
import { askEach, askMachine } from './fan-out.js';
import { readFederation, updateFederation } from './federation.js';
import { machineInfo } from './fleet.js';
import { unknownMachine } from './errors.js';
import type { MachineRegistry } from './machines.js';

type Impl = ImplOf<typeof Coordinator>;
export type MachineMethods = Pick<Impl, 'listMachines' | 'machineStatus' | 'removeMachine'>;

export interface MachineMethodsOptions {
  townRoot: string;
  registry: MachineRegistry;
  directory: FleetDirectory;
  timeoutMs: number;
}

export function machineMethods(options: MachineMethodsOptions): MachineMethods {
  const { registry, directory, townRoot, timeoutMs } = options;
  const describe = (name: string) => registry.describe().find((m) => m.name === name);
  return {
    async listMachines(_req, ctx) {
      const fed = await readFederation(townRoot).catch(() => undefined);
      if (fed !== undefined) registry.addNew(fed.machines);
      // One rig listing per machine (it carries the machine's polecat count): not every
      // polecat's record, which made this twice the cost of gt status (docs/scale.md).
      const answers = await askEach(
        registry,
        registry.names(),
        async (c, signal) => c.listRigs({}, { signal }),
        { timeoutMs, signal: ctx.signal, heartbeatVerdict: true },
      );
      const counts = directory.polecatCounts();
      for (const a of answers) {
        if (a.value === undefined) continue;
        directory.rigsListed(
          a.machine,
          a.value.rigs.map((r) => r.name),
        );
        // An agent one version behind sends no total: its homed rigs' counts then.
        const homed = a.value.rigs.reduce((n, r) => n + r.polecatCount, 0);
        counts.set(a.machine, Math.max(a.value.polecats, homed));
      }
      return {
        machines: registry
          .describe()
          .map((m) =>
            machineInfo(
              { ...m, draining: fed?.machines[m.name]?.draining === true },
              counts.get(m.name) ?? 0,
              fed?.machines[m.name],
            ),
          ),
      };
    },

    async machineStatus(req, ctx) {
      if (!registry.has(req.name)) throw unknownMachine(req.name, registry.names());
      const sent = Date.now();
      const report = await askMachine(registry, req.name, (c, signal) => c.report({}, { signal }), {
        timeoutMs,
        signal: ctx.signal,
      }).catch(() => undefined);
      const received = Date.now();
      const offset =
        report === undefined
          ? 0n
          : BigInt(Date.parse(report.now) - Math.round((sent + received) / 2));
      const m = describe(req.name);
      if (m === undefined) throw unknownMachine(req.name, registry.names());
      if (report !== undefined) await directory.refresh([req.name], ctx.signal);
      return {
        machine: machineInfo(m, directory.polecatsOn(req.name).length),
        ...(report === undefined ? {} : { report }),
        clockOffsetMs: offset,
      };
    },

    async removeMachine(req, ctx) {
      if (!registry.has(req.name)) throw unknownMachine(req.name, registry.names());
      if (req.name === directory.home)
        throw new GtError(
          'GT_INVALID_ARGUMENT',
          `machine "${req.name}" is the coordinator's own machine and cannot be removed`,
          { hint: 'remove the other machines; this one runs the town' },
        );
      const [answer] = await directory.refresh([req.name], ctx.signal);
      const rigs = directory.rigsOn(req.name);
      const polecats = directory.polecatsOn(req.name);
      if (!req.force) {
        if (answer?.error !== undefined)
          throw new GtError(
            'GT_MACHINE_UNREACHABLE',
            `cannot tell what machine "${req.name}" still holds: ${answer.error.message}`,
            {
              hint: `bring it back and try again, or \`gt machine remove ${req.name} --force\` to drop it whatever it holds`,
            },
          );
        if (rigs.length > 0 || polecats.length > 0)
          throw new GtError(
            'GT_CONFLICT',
            `machine "${req.name}" still ${[
              rigs.length > 0 ? `homes rig(s) ${rigs.join(', ')}` : '',
              polecats.length > 0 ? `runs polecat(s) ${polecats.join(', ')}` : '',
            ]
              .filter((x) => x !== '')
              .join(' and ')}`,
            {
              hint: `remove those rigs first (\`gt rig remove NAME\`), or \`gt machine remove ${req.name} --force\` to leave them there unmanaged`,
            },
          );
      }
      await updateFederation(townRoot, (f) => {
        const { [req.name]: _gone, ...rest } = f.machines;
        return { ...f, machines: rest };
      });
      await registry.remove(req.name);
      directory.machineRemoved(req.name);
      return { name: req.name, rigsLeft: rigs, polecatsLeft: polecats };
    },
  };
}
