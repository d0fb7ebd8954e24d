/**
 * A gcp machine's life after `gt machine add`: `gt machine start NAME`, `gt machine stop NAME`
 * (refused while it runs polecats or homes rigs, unless --force) and `gt machine remove NAME
 * --delete` (the instance is deleted, after a question on a terminal; a script passes --yes).
 */
import { GtError, errorMessage } from '../../proto/index.js';
import { out, printJson } from '../output.js';
import { askYes } from '../prompt.js';
import { resolveTownRoot } from '../town-root.js';
import { optionsOf, withCoordinator, type CommandOptions } from './context.js';
import { SSHD_TIMEOUT_MS, gcpApi, gcpEntry, step } from './machine-gcp-actions.js';

export async function machineStart(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  const json = opts.json === true;
  const townRoot = resolveTownRoot(opts.town);
  const machine = await gcpEntry(townRoot, name, 'gt machine start');
  const { gcp, api } = await gcpApi();
  try {
    const ref = gcp.instanceRef(machine);
    step(json)('start instance', `${ref.project}/${ref.zone}/${ref.instance}`);
    await api.waitForOperation(ref, await api.startInstance(ref));
    const resolved = await gcp.resolveInstance(api, name, machine);
    step(json)('wait for sshd', `${resolved.host}:${gcp.GCP_SSH_PORT}`);
    await gcp.waitForSshd(resolved.host, gcp.GCP_SSH_PORT, { timeoutMs: SSHD_TIMEOUT_MS });
    // The agent's supervisor does not survive a stop: provisioning finds it down and starts it.
    const r = await gcp.provisionGcpMachine({
      townRoot,
      name,
      machine,
      api,
      resolved,
      onStep: step(json),
    });
    if (json)
      return printJson({
        name,
        state: 'running',
        address: resolved.host,
        agent_version: r.agentVersion,
      });
    out(`machine "${name}" started (${resolved.host}); node agent ${r.agentVersion} running`);
  } finally {
    await api.close();
  }
}

export async function machineStop(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  const json = opts.json === true;
  const townRoot = resolveTownRoot(opts.town);
  const machine = await gcpEntry(townRoot, name, 'gt machine stop');
  if (opts.force !== true) await refuseIfBusy(opts, townRoot, name, 'stop');
  const { gcp, api } = await gcpApi();
  try {
    const ref = gcp.instanceRef(machine);
    step(json)('stop instance', `${ref.project}/${ref.zone}/${ref.instance}`);
    await api.waitForOperation(ref, await api.stopInstance(ref));
    if (json) return printJson({ name, state: 'stopped' });
    out(`machine "${name}" stopped (start it again with \`gt machine start ${name}\`)`);
  } finally {
    await api.close();
  }
}

/** Refuse when the machine runs sessions or homes rigs, or cannot be asked (unless stopped). */
async function refuseIfBusy(
  opts: CommandOptions,
  townRoot: string,
  name: string,
  verb: string,
): Promise<void> {
  await withCoordinator(
    opts,
    async ({ client }) => {
      const res = await client.machineStatus({ name });
      const r = res.report;
      if (res.machine?.state === 'stopped') return;
      if (r === undefined)
        throw new GtError(
          'GT_MACHINE_UNREACHABLE',
          `cannot tell what machine "${name}" still runs: ${res.machine?.detail ?? 'it did not answer'}`,
          {
            hint: `bring it back and try again, or \`gt machine ${verb} ${name} --force\``,
          },
        );
      const busy = [
        r.rigs.length > 0 ? `homes rig(s) ${r.rigs.join(', ')}` : '',
        r.sessions.length > 0
          ? `runs session(s) ${r.sessions.map((s) => s.address).join(', ')}`
          : '',
      ].filter((x) => x !== '');
      if (busy.length > 0)
        throw new GtError('GT_CONFLICT', `machine "${name}" still ${busy.join(' and ')}`, {
          hint: `stop that work first (\`gt stop --all\`), or \`gt machine ${verb} ${name} --force\``,
        });
    },
    { townRoot },
  );
}

/**
 * Asks first on a terminal (--yes answers it); without one a script must say so: --yes, or
 * --force (which already means "anyway"). Refused otherwise, before anything is looked up.
 */
function mustConfirm(name: string, opts: Record<string, unknown>): boolean {
  if (opts.yes === true) return false;
  if (process.stdin.isTTY === true && process.stderr.isTTY === true) return true;
  if (opts.force === true) return false;
  throw new GtError(
    'GT_USAGE',
    `gt machine remove ${name} --delete deletes the instance and its disk: confirm it`,
    {
      hint: `run it on a terminal to be asked, or add --yes: gt machine remove ${name} --delete --yes`,
    },
  );
}

/** `gt machine remove NAME --delete`: the registry's checks, then the instance is deleted. */
export async function machineRemoveAndDelete(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  const json = opts.json === true;
  const townRoot = resolveTownRoot(opts.town);
  const machine = await gcpEntry(townRoot, name, '--delete');
  const ask = mustConfirm(name, opts);
  const { gcp, api } = await gcpApi();
  try {
    const ref = gcp.instanceRef(machine);
    // Reach the API before anything changes: no credentials or no right to look → nothing done.
    await api.getInstance(ref);
    if (
      ask &&
      !(await askYes(
        `delete instance ${ref.project}/${ref.zone}/${ref.instance} and everything on its disk? [y/N] `,
        process.stderr,
      ))
    )
      throw new GtError('GT_CANCELLED', 'nothing was removed or deleted', {
        hint: 'answer y to go ahead',
      });
    const res = await withCoordinator(
      opts,
      ({ client }) => client.removeMachine({ name, force: opts.force === true }),
      { townRoot },
    );
    step(json)('delete instance', `${ref.project}/${ref.zone}/${ref.instance}`);
    try {
      await api.waitForOperation(ref, await api.deleteInstance(ref));
    } catch (e) {
      if (!(e instanceof GtError && e.code === 'GT_NOT_FOUND'))
        throw new GtError(
          e instanceof GtError ? e.code : 'GT_GCP_FAILED',
          `removed machine "${name}" from config/federation.json, but its instance was not deleted: ${errorMessage(e)}`,
          {
            hint: `delete it by hand: gcloud compute instances delete ${ref.instance} --zone ${ref.zone} --project ${ref.project}`,
            cause: e,
          },
        );
    }
    if (json)
      return printJson({
        name,
        deleted: true,
        rigs_left: res.rigsLeft,
        polecats_left: res.polecatsLeft,
      });
    out(
      `removed machine "${name}" and deleted instance ${ref.project}/${ref.zone}/${ref.instance}`,
    );
  } finally {
    await api.close();
  }
}
