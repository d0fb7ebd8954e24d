/**
 * gcp machines: an entry names a Compute Engine instance (project, zone, instance); everything
 * after the instance's address is the ssh machine's path — the same SshLink (host key verified),
 * bridge, gRPC tunnel and provisioning. The address is looked up before every SSH dial (an
 * instance gets a new external IP after a stop/start); the host key is known by the instance's
 * id (`compute.<id>`, as gcloud's google_compute_known_hosts does), which survives that.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GtError } from '../../proto/index.js';
import type { Machine } from '../federation.js';
import type { ConnectionFactory, MachineConnection } from '../machines.js';
import type { SshLink } from '../ssh/link.js';
import type { ProvisionMachineResult } from '../ssh/setup.js';
import type { ComputeApi, GcpInstance, InstanceRef } from './compute.js';
import { instanceStopped } from './errors.js';

export type GcpMachine = Extract<Machine, { type: 'gcp' }>;
type SshMachine = Extract<Machine, { type: 'ssh' }>;

/** SSH port of an instance (the project's firewall must let it in). */
export const GCP_SSH_PORT = 22;

export function instanceRef(machine: GcpMachine): InstanceRef {
  return { project: machine.project, zone: machine.zone, instance: machine.instance };
}

export interface ResolvedInstance {
  host: string;
  hostKeyAlias: string;
  instance: GcpInstance;
}

/** The running instance's external address and host key name; a stopped one is an error. */
export async function resolveInstance(
  api: ComputeApi,
  name: string,
  machine: GcpMachine,
  signal?: AbortSignal,
): Promise<ResolvedInstance> {
  const ref = instanceRef(machine);
  const instance = await api.getInstance(ref, signal === undefined ? {} : { signal });
  if (instance.status !== 'RUNNING') throw instanceStopped(name, ref, instance.status);
  if (instance.externalIp === undefined)
    throw new GtError(
      'GT_MACHINE_UNREACHABLE',
      `machine "${name}": instance ${ref.project}/${ref.zone}/${ref.instance} has no external IP`,
      {
        hint: 'give its network interface an external address (an access config) in the Cloud console',
      },
    );
  return { host: instance.externalIp, hostKeyAlias: `compute.${instance.id}`, instance };
}

/** The entry as the ssh path sees it (its host is filled in by each dial's lookup). */
export function asSshMachine(machine: GcpMachine, host = ''): SshMachine {
  return {
    type: 'ssh',
    host,
    port: GCP_SSH_PORT,
    user: machine.user,
    town_path: machine.town_path,
    ...(machine.identity_file === undefined ? {} : { identity_file: machine.identity_file }),
    ...(machine.max_polecats === undefined ? {} : { max_polecats: machine.max_polecats }),
    ...(machine.labels === undefined ? {} : { labels: machine.labels }),
  };
}

/** Host keys gcloud recorded for instances (`compute.<id>` lines). */
export function gcloudKnownHostsPath(): string {
  return join(homedir(), '.ssh', 'google_compute_known_hosts');
}

export interface GcpLinkOptions {
  townRoot: string;
  api: ComputeApi;
  acceptHostKey?: boolean;
  /** Default ~/.ssh/google_compute_known_hosts; `null` to consult only the town's file. */
  userKnownHosts?: string | null;
  /** The first lookup, when the caller already made it. */
  resolved?: ResolvedInstance;
}

/** An SshLink to the instance, resolving its address before every dial. */
export async function gcpLink(
  name: string,
  machine: GcpMachine,
  options: GcpLinkOptions,
): Promise<SshLink> {
  const { SshLink } = await import('../ssh/link.js');
  let first = options.resolved;
  return new SshLink({
    target: {
      machine: name,
      user: machine.user,
      host: first?.host ?? '',
      port: GCP_SSH_PORT,
      identityFile: machine.identity_file,
      hostKeyAlias: first?.hostKeyAlias,
    },
    townRoot: options.townRoot,
    userKnownHosts:
      options.userKnownHosts === undefined ? gcloudKnownHostsPath() : options.userKnownHosts,
    ...(options.acceptHostKey === undefined ? {} : { acceptHostKey: options.acceptHostKey }),
    resolveTarget: async (signal) => {
      const r = first ?? (await resolveInstance(options.api, name, machine, signal));
      first = undefined;
      return { host: r.host, hostKeyAlias: r.hostKeyAlias };
    },
  });
}

export interface GcpFactoryOptions {
  townRoot: string;
  /** The Compute API (created on first use; one per factory). */
  compute: () => Promise<ComputeApi>;
  userKnownHosts?: string | null;
  onError?: (machine: string, err: unknown) => void;
}

/** The registry's factory for `type: gcp` entries. */
export function gcpConnectionFactory(options: GcpFactoryOptions): ConnectionFactory {
  let api: Promise<ComputeApi> | undefined;
  return async (name, machine, signal): Promise<MachineConnection> => {
    if (machine.type !== 'gcp') throw new Error(`machine ${name} is not a gcp machine`);
    api ??= options.compute().catch((err: unknown) => {
      api = undefined;
      throw err;
    });
    const compute = await api;
    // Look the instance up now, so a stopped instance is this connect's error.
    const resolved = await resolveInstance(compute, name, machine, signal);
    const link = await gcpLink(name, machine, {
      townRoot: options.townRoot,
      api: compute,
      resolved,
      ...(options.userKnownHosts === undefined ? {} : { userKnownHosts: options.userKnownHosts }),
    });
    const { connectSshMachine } = await import('../ssh/machine.js');
    const conn = await connectSshMachine(name, asSshMachine(machine, resolved.host), {
      townRoot: options.townRoot,
      link,
      ...(signal === undefined ? {} : { signal }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
    return {
      name,
      type: 'gcp',
      client: conn.client,
      close: () => conn.close(),
    };
  };
}

export interface ProvisionGcpOptions {
  townRoot: string;
  name: string;
  machine: GcpMachine;
  api: ComputeApi;
  resolved?: ResolvedInstance;
  acceptHostKey?: boolean;
  userKnownHosts?: string | null;
  onStep?: (step: string, detail?: string) => void;
}

/** Provision the instance exactly as an ssh machine is provisioned. */
export async function provisionGcpMachine(
  options: ProvisionGcpOptions,
): Promise<ProvisionMachineResult> {
  const { name, machine } = options;
  const resolved = options.resolved ?? (await resolveInstance(options.api, name, machine));
  const link = await gcpLink(name, machine, { ...options, resolved });
  const { provisionMachine } = await import('../ssh/setup.js');
  return provisionMachine({
    townRoot: options.townRoot,
    name,
    machine: asSshMachine(machine, resolved.host),
    link,
    ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
  });
}
