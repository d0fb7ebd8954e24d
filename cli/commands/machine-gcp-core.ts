/**
 * The one path from a gcp machine description to a registered machine, shared by
 * `gt machine add --gcp` and the machines an elastic swarm grows (`gt swarm start --grow`):
 * insert the instance (with --create), wait for its zone operation, resolve its address, wait for
 * sshd, first SSH contact (host key), then write config/federation.json (locked, the name
 * re-checked). Anything failing before the write writes nothing, and an instance created here is
 * deleted again.
 */
import { posix } from 'node:path';
import { updateFederation, type GcpModule, type Machine } from '../../coordinator/index.js';
import { GtError, errorMessage } from '../../proto/index.js';
import { err } from '../output.js';

export type GcpMachine = Extract<Machine, { type: 'gcp' }>;
export type ComputeApi = Awaited<ReturnType<GcpModule['createComputeApi']>>;
export type Resolved = Awaited<ReturnType<GcpModule['resolveInstance']>>;
export const SSHD_TIMEOUT_MS = 180_000;

export interface InstanceRef {
  project: string;
  zone: string;
  instance: string;
}

export interface GcpAddSpec {
  townRoot: string;
  name: string;
  ref: InstanceRef;
  /** Insert the instance with these settings; unset: find an existing one. */
  create?: {
    machineType: string;
    imageFamily: string;
    imageProject: string;
    diskGb: number;
    instanceLabels: Record<string, string>;
  };
  user: string;
  identity: string | undefined;
  townPath: string | undefined;
  maxPolecats: number | undefined;
  labels: string[] | undefined;
  acceptHostKey: boolean;
  /** More fields for the entry (created_at, grown). */
  extra?: Partial<GcpMachine>;
  show: (step: string, detail?: string) => void;
  /** Quiet: no host-key line on stderr. */
  json: boolean;
}

export interface GcpAdded {
  machine: GcpMachine;
  resolved: Resolved;
  apiMs: number;
  sshdMs: number;
}

export function duplicate(name: string): GtError {
  return new GtError('GT_USAGE', `a machine named "${name}" is already in config/federation.json`, {
    hint: `pick another name, or run \`gt machine provision ${name}\` to (re)install it`,
  });
}

/** Create or find the instance, reach it over SSH and register it (not yet provisioned). */
export async function addGcpMachine(
  gcp: GcpModule,
  api: ComputeApi,
  s: GcpAddSpec,
): Promise<GcpAdded> {
  const started = Date.now();
  let created = false;
  try {
    let identity = s.identity;
    if (s.create !== undefined) {
      const key =
        identity === undefined ? await gcp.ensureTownKey(s.townRoot) : gcp.publicKeyOf(identity);
      identity = key.privateKey;
      s.show('create instance', `${s.ref.project}/${s.ref.zone}/${s.ref.instance}`);
      const op = await api.insertInstance(s.ref, {
        machineType: s.create.machineType,
        imageFamily: s.create.imageFamily,
        imageProject: s.create.imageProject,
        diskGb: s.create.diskGb,
        labels: s.create.instanceLabels,
        sshKeys: `${s.user}:${key.publicKey}`,
      });
      created = true;
      await api.waitForOperation(s.ref, op);
    }
    const machine: GcpMachine = {
      type: 'gcp',
      ...s.ref,
      user: s.user,
      town_path: s.townPath ?? '',
      ...(identity === undefined ? {} : { identity_file: identity }),
      ...(s.maxPolecats === undefined ? {} : { max_polecats: s.maxPolecats }),
      ...(s.labels === undefined ? {} : { labels: s.labels }),
      ...(s.create === undefined ? {} : { created_at: new Date().toISOString() }),
      ...s.extra,
    };
    const resolved = await gcp.resolveInstance(api, s.name, machine).catch((e: unknown) => {
      if (e instanceof GtError && e.code === 'GT_MACHINE_STOPPED')
        throw new GtError('GT_MACHINE_STOPPED', e.message, {
          hint: `start the instance first (\`gcloud compute instances start ${s.ref.instance} --zone ${s.ref.zone} --project ${s.ref.project}\`), then add it`,
        });
      throw e;
    });
    if (resolved.instance.machineType) machine.machine_type = resolved.instance.machineType;
    const apiMs = Date.now() - started;
    s.show('wait for sshd', `${resolved.host}:${gcp.GCP_SSH_PORT}`);
    await gcp.waitForSshd(resolved.host, gcp.GCP_SSH_PORT, { timeoutMs: SSHD_TIMEOUT_MS });
    const sshdMs = Date.now() - started - apiMs;
    machine.town_path = await contact(gcp, api, s, machine, resolved);
    await updateFederation(s.townRoot, (f) => {
      if (f.machines[s.name] !== undefined) throw duplicate(s.name);
      return { ...f, machines: { ...f.machines, [s.name]: machine } };
    });
    created = false;
    return { machine, resolved, apiMs, sshdMs };
  } catch (e) {
    if (created) await deleteCreated(api, s.ref, e);
    throw e;
  }
}

/** First contact over SSH (host key checked, accepted only with --accept-host-key): the town path. */
async function contact(
  gcp: GcpModule,
  api: ComputeApi,
  s: GcpAddSpec,
  machine: GcpMachine,
  resolved: Resolved,
): Promise<string> {
  const link = await gcp.gcpLink(s.name, machine, {
    townRoot: s.townRoot,
    api,
    resolved,
    acceptHostKey: s.acceptHostKey,
  });
  try {
    const conn = await link.get();
    if (!s.json && conn.hostKey?.recorded === true)
      err(
        `recorded the host key of ${resolved.hostKeyAlias} (${resolved.host}): ${conn.hostKey.keyType} ${conn.hostKey.fingerprint}`,
      );
    if (machine.town_path !== '') return machine.town_path;
    const home = (await conn.exec(['sh', '-c', 'printf %s "$HOME"'])).stdout.toString();
    return posix.join(home === '' ? '/' : home, 'gastown');
  } finally {
    await link.close();
  }
}

/** Undo a create that did not end in a registered machine; the original error still stands. */
export async function deleteCreated(
  api: ComputeApi,
  ref: InstanceRef,
  cause: unknown,
): Promise<void> {
  try {
    await api.waitForOperation(ref, await api.deleteInstance(ref));
    err(`deleted instance ${ref.project}/${ref.zone}/${ref.instance} again (nothing was added)`);
  } catch (e) {
    if (e instanceof GtError && e.code === 'GT_NOT_FOUND') return;
    err(
      `warning: instance ${ref.project}/${ref.zone}/${ref.instance} was created but could not be deleted again (${errorMessage(e)}); delete it by hand: gcloud compute instances delete ${ref.instance} --zone ${ref.zone} --project ${ref.project} (after: ${errorMessage(cause)})`,
    );
  }
}
