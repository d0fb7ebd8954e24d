/**
 * `gt machine upgrade [NAME | --all]`: install this gt's node agent beside the one a machine runs,
 * switch, restart, handshake and check the version; on any failure the previous version is
 * switched back in and restarted, and the step that failed is named. `--all` upgrades every ssh
 * machine in parallel: one line per machine (redrawn on a TTY), exit 1 naming each failure.
 */
import { loadSsh, readFederation, type Machine } from '../../coordinator/index.js';
import { GtError } from '../../proto/index.js';
import { color, err, out, printJson } from '../output.js';
import { Progress } from '../progress.js';
import { resolveTownRoot } from '../town-root.js';
import { optionsOf } from './context.js';
import { agentBundleDir, checkMachineName } from './machine-add-actions.js';

type SshMachine = Extract<Machine, { type: 'ssh' }>;

function usage(message: string, hint: string): GtError {
  return new GtError('GT_USAGE', message, { hint });
}

interface Outcome {
  name: string;
  ok: boolean;
  changed: boolean;
  previous: string | undefined;
  version: string | undefined;
  agentVersion: string | undefined;
  error: GtError | undefined;
}

function asGtError(e: unknown): GtError {
  return e instanceof GtError ? e : new GtError('GT_PROVISION_FAILED', String(e), { cause: e });
}

/** The machines to upgrade: NAME (an ssh machine of federation.json) or every ssh machine. */
async function targets(
  townRoot: string,
  name: string | undefined,
  all: boolean,
): Promise<Array<[string, SshMachine]>> {
  if (name === undefined && !all)
    throw usage(
      'name the machine to upgrade, or give --all',
      'e.g. `gt machine upgrade worker-1`, or `gt machine upgrade --all` for every machine',
    );
  if (name !== undefined && all)
    throw usage('give a machine name or --all, not both', 'e.g. `gt machine upgrade --all`');
  if (name !== undefined) checkMachineName(name);
  const fed = await readFederation(townRoot);
  if (all)
    return Object.entries(fed.machines).flatMap(([n, m]) =>
      m.type === 'ssh' ? [[n, m] as [string, SshMachine]] : [],
    );
  const machine = fed.machines[name ?? ''];
  if (machine === undefined)
    throw new GtError(
      'GT_MACHINE_UNKNOWN',
      `no machine named "${name}" in config/federation.json`,
      { hint: 'see the machines with `gt machine list`' },
    );
  if (machine.type !== 'ssh')
    throw usage(
      `machine "${name}" is of type ${machine.type}; only ssh machines are upgraded by gt`,
      machine.type === 'local'
        ? 'the local machine runs this Gas Town install: upgrade the package itself'
        : 'see the machines with `gt machine list`',
    );
  return [[name ?? '', machine]];
}

function line(o: Outcome): string {
  if (o.error !== undefined) return `${o.name}: ${color.red('failed')}: ${o.error.message}`;
  if (!o.changed) return `${o.name}: node agent ${o.agentVersion ?? '?'} running; nothing changed`;
  return `${o.name}: upgraded ${o.previous ?? '(none)'} -> ${o.version ?? '?'}; node agent ${o.agentVersion ?? '?'} running`;
}

function outcomeJson(o: Outcome): Record<string, unknown> {
  return {
    name: o.name,
    ok: o.ok,
    changed: o.changed,
    previous: o.previous ?? null,
    version: o.version ?? null,
    agent_version: o.agentVersion ?? null,
    ...(o.error === undefined
      ? {}
      : {
          error: {
            code: o.error.code,
            message: o.error.message,
            hint: o.error.hint ?? null,
            step: o.error.details?.step ?? null,
          },
        }),
  };
}

export async function machineUpgrade(...args: unknown[]): Promise<void> {
  const name = typeof args[0] === 'string' ? args[0] : undefined;
  const opts = optionsOf(args);
  const json = opts.json === true;
  const all = opts.all === true;
  const townRoot = resolveTownRoot(opts.town);
  const machines = await targets(townRoot, name, all);
  if (machines.length === 0) {
    if (json) printJson({ machines: [] });
    else out('no ssh machines in config/federation.json; nothing to upgrade');
    return;
  }
  const ssh = await loadSsh();
  const progress = new Progress(
    machines.map(([n]) => n),
    { json, quietWhenPiped: all },
  );
  const outcomes = await Promise.all(
    machines.map(async ([n, machine]): Promise<Outcome> => {
      try {
        const r = await ssh.provisionMachine({
          townRoot,
          name: n,
          machine,
          upgrade: true,
          onStep: (step, detail) => progress.step(n, step, detail),
          onBytes: (sent, total) => progress.bytes(n, sent, total),
          ...agentBundleDir(),
        });
        const o: Outcome = {
          name: n,
          ok: true,
          changed: r.changed,
          previous: r.previous,
          version: r.version,
          agentVersion: r.agentVersion,
          error: undefined,
        };
        progress.finish(n, r.changed ? `upgraded to ${r.version}` : 'nothing changed');
        return o;
      } catch (e) {
        const error = asGtError(e);
        progress.finish(n, `failed at "${String(error.details?.step ?? 'connect')}"`);
        return {
          name: n,
          ok: false,
          changed: false,
          previous: undefined,
          version: undefined,
          agentVersion: undefined,
          error,
        };
      }
    }),
  );
  progress.end();
  const failed = outcomes.filter((o) => !o.ok);
  if (!all && failed[0]?.error !== undefined && !json) throw failed[0].error;
  if (json) printJson(all ? { machines: outcomes.map(outcomeJson) } : outcomeJson(outcomes[0]!));
  else
    for (const o of outcomes) {
      out(line(o));
      if (o.error?.hint !== undefined) out(`  hint: ${o.error.hint}`);
    }
  if (failed.length > 0) {
    if (!json)
      err(
        `error: the upgrade failed on ${failed.length} machine(s): ${failed.map((o) => o.name).join(', ')}`,
      );
    process.exitCode = 1;
  }
}
