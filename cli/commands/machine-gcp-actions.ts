/**
 * Actions of the gcp machine commands (see machine-gcp.ts): add (create or find the instance,
 * wait for sshd, then the ssh path's contact and provisioning), start, stop, remove --delete.
 * Everything is validated before the Compute API is asked, and config/federation.json is written
 * only once the instance answered over SSH: a refusal, a quota or a failed operation writes
 * nothing (and an instance this command created is deleted again).
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import {
  loadGcp,
  readFederation,
  federationPath,
  type GcpModule,
} from '../../coordinator/index.js';
import { GtError } from '../../proto/index.js';
import { gcpEndpointFromEnv } from '../gcp-env.js';
import { err, out, printJson } from '../output.js';
import { resolveTownRoot } from '../town-root.js';
import { optionsOf, type CommandOptions } from './context.js';
import { checkIdentity, checkMachineName } from './machine-add-actions.js';
import {
  SSHD_TIMEOUT_MS,
  addGcpMachine,
  duplicate,
  type ComputeApi,
  type GcpMachine,
} from './machine-gcp-core.js';

const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const INSTANCE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const CREATE_ONLY = ['machineType', 'imageFamily', 'imageProject', 'diskGb'] as const;
const FLAG: Record<(typeof CREATE_ONLY)[number], string> = {
  machineType: '--machine-type',
  imageFamily: '--image-family',
  imageProject: '--image-project',
  diskGb: '--disk-gb',
};
export { SSHD_TIMEOUT_MS };

function usage(message: string, hint: string): GtError {
  return new GtError('GT_USAGE', message, { hint });
}

export function parseGcpRef(text: string): { project: string; zone: string; instance: string } {
  const [project = '', zone = '', instance = '', ...rest] = text.split('/');
  const fix =
    'write it as PROJECT/ZONE/INSTANCE, e.g. --gcp my-project/europe-west1-b/worker-1 (project id: 6-30 lowercase letters, digits, hyphens; instance: lowercase letters, digits, hyphens)';
  if (rest.length > 0 || !PROJECT.test(project) || !ZONE.test(zone) || !INSTANCE.test(instance))
    throw usage(`malformed gcp instance "${text}"`, fix);
  return { project, zone, instance };
}

export function gcpLabels(labels: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels ?? []) {
    const [k = '', ...v] = l.split('=');
    const value = v.join('=');
    if (v.length === 0 || !LABEL_KEY.test(k) || !LABEL_VALUE.test(value))
      throw usage(
        `invalid label "${l}" for a gcp machine`,
        'write labels as key=value in lowercase letters, digits, "_" and "-" (Compute Engine label rules), e.g. --label team=infra',
      );
    out[k] = value;
  }
  return out;
}

export function positive(opt: unknown, flag: string, min = 1): number | undefined {
  if (opt === undefined) return undefined;
  const n = Number(opt);
  if (!Number.isInteger(n) || n < min)
    throw usage(
      `${flag} ${String(opt)} is not a whole number ≥ ${min}`,
      `e.g. ${flag} ${Math.max(min, 4)}`,
    );
  return n;
}

interface AddInput {
  name: string;
  ref: { project: string; zone: string; instance: string };
  create: boolean;
  user: string;
  identity: string | undefined;
  townPath: string | undefined;
  maxPolecats: number | undefined;
  labels: string[] | undefined;
  instanceLabels: Record<string, string>;
  diskGb: number;
}

/** Everything the command line says, checked before anything is asked (exit 2 on a problem). */
async function readAddInput(name: string, opts: CommandOptions): Promise<AddInput> {
  checkMachineName(name);
  const ref = parseGcpRef(String(opts.gcp));
  const create = opts.create === true;
  if (!create)
    for (const k of CREATE_ONLY)
      if (opts[k] !== undefined)
        throw usage(
          `${FLAG[k]} is used only with --create`,
          `add --create to make the instance, or leave out ${FLAG[k]}`,
        );
  if (create && opts.acceptHostKey !== true)
    throw usage(
      'a new instance has a host key nobody knows yet: --create needs --accept-host-key',
      `add --accept-host-key (its fingerprint is printed and recorded in config/known_hosts)`,
    );
  const user = opts.user === undefined ? 'gastown' : String(opts.user);
  if (!USER.test(user) || user === 'root')
    throw usage(
      `invalid --user "${user}"`,
      'give a lowercase account name (not root: Compute Engine images refuse root logins), e.g. --user gastown',
    );
  const townPath = opts.townPath as string | undefined;
  if (townPath !== undefined && (!isAbsolute(townPath) || townPath.split('/').includes('..')))
    throw usage(
      `--town-path ${townPath} must be an absolute path without ".."`,
      'e.g. --town-path /srv/gastown',
    );
  const labels = opts.label as string[] | undefined;
  return {
    name,
    ref,
    create,
    user,
    identity: opts.identity === undefined ? undefined : await checkIdentity(String(opts.identity)),
    townPath,
    maxPolecats: positive(opts.maxPolecats, '--max-polecats'),
    labels,
    instanceLabels: gcpLabels(labels),
    diskGb: positive(opts.diskGb, '--disk-gb', 10) ?? 20,
  };
}

export async function gcpApi(): Promise<{ gcp: GcpModule; api: ComputeApi }> {
  const gcp = await loadGcp();
  return { gcp, api: await gcp.createComputeApi({ endpoint: gcpEndpointFromEnv() }) };
}

export function step(json: boolean): (s: string, detail?: string) => void {
  return (s, detail) => {
    if (!json) err(`  ${s}${detail === undefined ? '' : `: ${detail}`}`);
  };
}

export async function machineAddGcp(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  const json = opts.json === true;
  const input = await readAddInput(name, opts);
  const townRoot = resolveTownRoot(opts.town);
  if (
    existsSync(federationPath(townRoot)) &&
    (await readFederation(townRoot)).machines[name] !== undefined
  )
    throw duplicate(name);
  const { gcp, api } = await gcpApi();
  try {
    const added = await addGcpMachine(gcp, api, {
      townRoot,
      name,
      ref: input.ref,
      ...(input.create
        ? {
            create: {
              machineType: String(opts.machineType ?? 'e2-standard-2'),
              imageFamily: String(opts.imageFamily ?? 'debian-12'),
              imageProject: String(opts.imageProject ?? 'debian-cloud'),
              diskGb: input.diskGb,
              instanceLabels: input.instanceLabels,
            },
          }
        : {}),
      user: input.user,
      identity: input.identity,
      townPath: input.townPath,
      maxPolecats: input.maxPolecats,
      labels: input.labels,
      acceptHostKey: opts.acceptHostKey === true,
      show: step(json),
      json,
    });
    const { machine, resolved } = added;
    if (!json)
      out(
        `added machine "${name}" (gcp ${input.ref.project}/${input.ref.zone}/${input.ref.instance} at ${resolved.host}, town path ${machine.town_path})`,
      );
    await provisionAfterAdd(gcp, api, { townRoot, name, opts, ...added });
  } finally {
    await api.close();
  }
}

async function provisionAfterAdd(
  gcp: GcpModule,
  api: ComputeApi,
  o: {
    townRoot: string;
    name: string;
    machine: GcpMachine;
    opts: CommandOptions;
    resolved: Awaited<ReturnType<GcpModule['resolveInstance']>>;
    apiMs: number;
    sshdMs: number;
  },
): Promise<void> {
  const json = o.opts.json === true;
  if (o.opts.provision === false) {
    if (json)
      printJson({ name: o.name, machine: o.machine, provisioned: false, address: o.resolved.host });
    return;
  }
  if (!json) out(`provisioning ${o.name}…`);
  const t = Date.now();
  const r = await gcp.provisionGcpMachine({
    townRoot: o.townRoot,
    name: o.name,
    machine: o.machine,
    api,
    resolved: o.resolved,
    onStep: step(json),
  });
  const provisionMs = Date.now() - t;
  if (json)
    return printJson({
      name: o.name,
      machine: o.machine,
      provisioned: true,
      address: o.resolved.host,
      changed: r.changed,
      version: r.version,
      agent_version: r.agentVersion,
      transport: r.transport,
      timings_ms: { api: o.apiMs, sshd: o.sshdMs, provision: provisionMs },
    });
  out(
    r.changed
      ? `machine "${o.name}": node agent ${r.agentVersion} installed (${r.version}) and running (${r.supervisor}, ${r.transport ?? 'tunnel'})`
      : `machine "${o.name}": node agent ${r.agentVersion} already installed and running; nothing changed`,
  );
}

/** The gcp entry of a machine, or exit 2 naming what it is. */
export async function gcpEntry(
  townRoot: string,
  name: string,
  command: string,
): Promise<GcpMachine> {
  checkMachineName(name);
  const machine = existsSync(federationPath(townRoot))
    ? (await readFederation(townRoot)).machines[name]
    : undefined;
  if (machine === undefined)
    throw new GtError(
      'GT_MACHINE_UNKNOWN',
      `no machine named "${name}" in config/federation.json`,
      {
        hint: 'see the machines with `gt machine list`',
      },
    );
  if (machine.type !== 'gcp')
    throw usage(
      `machine "${name}" is of type ${machine.type}; ${command} works on gcp machines`,
      'see the types with `gt machine list`',
    );
  return machine;
}

/** `gt machine provision NAME` for a gcp machine: the instance's address, then the ssh path. */
export async function machineProvisionGcp(
  name: string,
  machine: GcpMachine,
  opts: CommandOptions,
): Promise<void> {
  const json = opts.json === true;
  const townRoot = resolveTownRoot(opts.town);
  const { gcp, api } = await gcpApi();
  try {
    const r = await gcp.provisionGcpMachine({ townRoot, name, machine, api, onStep: step(json) });
    if (json)
      return printJson({
        name,
        changed: r.changed,
        version: r.version,
        agent_version: r.agentVersion,
      });
    out(
      r.changed
        ? `machine "${name}": node agent ${r.agentVersion} installed (${r.version}) and running`
        : `machine "${name}": node agent ${r.agentVersion} already installed and running; nothing changed`,
    );
  } finally {
    await api.close();
  }
}
