/**
 * The small interface gcp machines need from Compute Engine (get, insert, delete, start, stop,
 * list instances; wait for a zone operation), and its implementation over the official client
 * `@google-cloud/compute` (6.x: 7.x needs Node 22). The client is loaded only here, with
 * createRequire, and only its two service clients (the package's index loads every service's
 * descriptors: ~2 s); gt start-up never pays for it.
 *
 * Credentials are Application Default Credentials. google-auth-library asks the metadata server
 * (a link-local address) when it finds no local credentials; we let it do that only on a Google
 * Cloud machine (decided from local files, as gcp-metadata's `bios-only` mode does) or when the
 * user set METADATA_SERVER_DETECTION, so a machine without credentials sends nothing anywhere.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GtError } from '../../proto/index.js';
import { gcpApiError, noCredentials, operationFailed } from './errors.js';

export interface InstanceRef {
  project: string;
  zone: string;
  instance: string;
}

/** What gt reads of an instance. */
export interface GcpInstance {
  id: string;
  name: string;
  /** PROVISIONING, STAGING, RUNNING, STOPPING, STOPPED, SUSPENDING, SUSPENDED, TERMINATED, … */
  status: string;
  /** The first network interface's external (NAT) address; undefined when it has none. */
  externalIp: string | undefined;
  /** The machine type's short name (e2-standard-2). */
  machineType: string;
  labels: Record<string, string>;
  creationTimestamp: string;
}

export interface InstanceSpec {
  machineType: string;
  imageFamily: string;
  imageProject: string;
  diskGb: number;
  labels: Record<string, string>;
  /** The `ssh-keys` metadata value: `user:ssh-ed25519 AAAA… comment` lines. */
  sshKeys: string;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A zone operation's name, to wait for. */
export type OperationName = string;

export interface ComputeApi {
  getInstance(ref: InstanceRef, options?: CallOptions): Promise<GcpInstance>;
  insertInstance(
    ref: InstanceRef,
    spec: InstanceSpec,
    options?: CallOptions,
  ): Promise<OperationName>;
  deleteInstance(ref: InstanceRef, options?: CallOptions): Promise<OperationName>;
  startInstance(ref: InstanceRef, options?: CallOptions): Promise<OperationName>;
  stopInstance(ref: InstanceRef, options?: CallOptions): Promise<OperationName>;
  listInstances(project: string, zone: string, options?: CallOptions): Promise<GcpInstance[]>;
  /** Wait until the operation is DONE; its error (quota, a failed create) is thrown. */
  waitForOperation(
    ref: InstanceRef,
    operation: OperationName,
    options?: CallOptions,
  ): Promise<void>;
  close(): Promise<void>;
}

export interface ComputeOptions {
  /**
   * Another Compute endpoint (a private endpoint, or a local one in tests): `http(s)://host:port`.
   * Default: compute.googleapis.com over https.
   */
  endpoint?: string | undefined;
  /** An auth client (anything with getRequestHeaders / fetch); default: ADC. */
  authClient?: unknown;
  /** The environment ADC is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/* The parts of the client's objects we use (its .d.ts pulls in 30 MB of descriptors). */
interface RawInstance {
  id?: string | null;
  name?: string | null;
  status?: string | null;
  machineType?: string | null;
  labels?: Record<string, string> | null;
  creationTimestamp?: string | null;
  networkInterfaces?: Array<{ accessConfigs?: Array<{ natIP?: string | null }> | null }> | null;
}
interface RawOperation {
  name?: string | null;
  status?: string | null;
  httpErrorStatusCode?: number | null;
  httpErrorMessage?: string | null;
  error?: { errors?: Array<{ code?: string | null; message?: string | null }> | null } | null;
}
interface GaxOptions {
  timeout?: number;
}
interface InstancesClient {
  get(req: object, o?: GaxOptions): Promise<[RawInstance]>;
  insert(req: object, o?: GaxOptions): Promise<[{ latestResponse: RawOperation }]>;
  delete(req: object, o?: GaxOptions): Promise<[{ latestResponse: RawOperation }]>;
  start(req: object, o?: GaxOptions): Promise<[{ latestResponse: RawOperation }]>;
  stop(req: object, o?: GaxOptions): Promise<[{ latestResponse: RawOperation }]>;
  list(req: object, o?: GaxOptions): Promise<[RawInstance[]]>;
  close(): Promise<void>;
}
interface ZoneOperationsClient {
  wait(req: object, o?: GaxOptions): Promise<[RawOperation]>;
  close(): Promise<void>;
}
type ClientClass<T> = new (opts: object) => T;
interface AuthLike {
  getClient(): Promise<unknown>;
  defaultServicePath?: string;
  defaultScopes?: string[];
}

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const COMPUTE_SERVICE = 'compute.googleapis.com';
const DEFAULT_TIMEOUT_MS = 60_000;
const OPERATION_TIMEOUT_MS = 10 * 60_000;

function loadClient(): {
  Instances: ClientClass<InstancesClient>;
  ZoneOperations: ClientClass<ZoneOperationsClient>;
  GoogleAuth: new (opts: object) => AuthLike;
  onGoogleCloud: () => boolean;
} {
  const require = createRequire(import.meta.url);
  const root = require.resolve('@google-cloud/compute/package.json').replace(/package\.json$/, '');
  const fromCompute = createRequire(join(root, 'package.json'));
  const v1 = join(root, 'build', 'src', 'v1');
  const gax = fromCompute('google-gax') as {
    GoogleAuth: new (opts: object) => AuthLike;
    googleAuthLibrary: { gcpMetadata: { getGCPResidency(): boolean } };
  };
  return {
    Instances: (
      fromCompute(join(v1, 'instances_client.js')) as {
        InstancesClient: ClientClass<InstancesClient>;
      }
    ).InstancesClient,
    ZoneOperations: (
      fromCompute(join(v1, 'zone_operations_client.js')) as {
        ZoneOperationsClient: ClientClass<ZoneOperationsClient>;
      }
    ).ZoneOperationsClient,
    GoogleAuth: gax.GoogleAuth,
    onGoogleCloud: () => gax.googleAuthLibrary.gcpMetadata.getGCPResidency(),
  };
}

/** Is there a credential on this machine ADC would read without asking the network? */
function localCredentials(env: NodeJS.ProcessEnv): boolean {
  if ((env.GOOGLE_APPLICATION_CREDENTIALS ?? '') !== '') return true;
  const dir = env.CLOUDSDK_CONFIG ?? join(env.HOME ?? homedir(), '.config', 'gcloud');
  return existsSync(join(dir, 'application_default_credentials.json'));
}

function shortName(url: string | null | undefined): string {
  return (url ?? '').split('/').pop() ?? '';
}

function toInstance(raw: RawInstance): GcpInstance {
  const nat = raw.networkInterfaces?.[0]?.accessConfigs?.[0]?.natIP ?? '';
  return {
    id: String(raw.id ?? ''),
    name: raw.name ?? '',
    status: raw.status ?? '',
    externalIp: nat === '' ? undefined : nat,
    machineType: shortName(raw.machineType),
    labels: { ...(raw.labels ?? {}) },
    creationTimestamp: raw.creationTimestamp ?? '',
  };
}

function gax(options: CallOptions | undefined): GaxOptions {
  return { timeout: options?.timeoutMs ?? DEFAULT_TIMEOUT_MS };
}

/** The instance resource `insert` sends: one boot disk, the default network, an external IP. */
export function instanceResource(ref: InstanceRef, spec: InstanceSpec): object {
  return {
    name: ref.instance,
    machineType: `zones/${ref.zone}/machineTypes/${spec.machineType}`,
    labels: spec.labels,
    metadata: { items: [{ key: 'ssh-keys', value: spec.sshKeys }] },
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: `projects/${spec.imageProject}/global/images/family/${spec.imageFamily}`,
          diskSizeGb: String(spec.diskGb),
        },
      },
    ],
    networkInterfaces: [
      {
        network: 'global/networks/default',
        accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
      },
    ],
  };
}

/**
 * The Compute API over the official client. Credentials are looked up (and a missing one named)
 * here, before any call.
 */
export async function createComputeApi(options: ComputeOptions = {}): Promise<ComputeApi> {
  const env = options.env ?? process.env;
  const lib = loadClient();
  let auth: unknown = options.authClient;
  if (auth === undefined) {
    if (
      !localCredentials(env) &&
      (env.METADATA_SERVER_DETECTION ?? '') === '' &&
      !lib.onGoogleCloud()
    )
      throw noCredentials();
    // What the client itself sets before its first call, set before ours (getClient caches the
    // credential): a service-account key then signs its own token for compute.googleapis.com
    // (a self-signed JWT, as every GAPIC client does), with no round trip to a token endpoint.
    const adc = new lib.GoogleAuth({});
    adc.defaultServicePath = COMPUTE_SERVICE;
    adc.defaultScopes = [CLOUD_PLATFORM];
    try {
      await adc.getClient();
    } catch (err) {
      throw noCredentials(err);
    }
    auth = adc;
  }
  const endpoint = options.endpoint === undefined ? undefined : new URL(options.endpoint);
  const clientOptions = {
    auth,
    fallback: true,
    ...(endpoint === undefined
      ? {}
      : {
          apiEndpoint: endpoint.hostname,
          port: Number(endpoint.port || (endpoint.protocol === 'http:' ? 80 : 443)),
          protocol: endpoint.protocol.replace(/:$/, ''),
        }),
  };
  const instances = new lib.Instances(clientOptions);
  const operations = new lib.ZoneOperations(clientOptions);
  const call = async <T>(what: string, ref: InstanceRef, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw gcpApiError(err, what, ref);
    }
  };
  const opName = (r: [{ latestResponse: RawOperation }]): string => r[0].latestResponse.name ?? '';

  return {
    getInstance: (ref, o) =>
      call('get', ref, async () => toInstance((await instances.get({ ...ref }, gax(o)))[0])),
    insertInstance: (ref, spec, o) =>
      call('create', ref, async () =>
        opName(
          await instances.insert(
            { project: ref.project, zone: ref.zone, instanceResource: instanceResource(ref, spec) },
            gax(o),
          ),
        ),
      ),
    deleteInstance: (ref, o) =>
      call('delete', ref, async () => opName(await instances.delete({ ...ref }, gax(o)))),
    startInstance: (ref, o) =>
      call('start', ref, async () => opName(await instances.start({ ...ref }, gax(o)))),
    stopInstance: (ref, o) =>
      call('stop', ref, async () => opName(await instances.stop({ ...ref }, gax(o)))),
    listInstances: (project, zone, o) =>
      call('list', { project, zone, instance: '' }, async () =>
        (await instances.list({ project, zone }, gax(o)))[0].map(toInstance),
      ),
    waitForOperation: async (ref, operation, o) => {
      const deadline = Date.now() + (o?.timeoutMs ?? OPERATION_TIMEOUT_MS);
      for (;;) {
        o?.signal?.throwIfAborted();
        const [op] = await call('wait for', ref, () =>
          operations.wait({ project: ref.project, zone: ref.zone, operation }, gax(undefined)),
        );
        if (op.status === 'DONE') {
          const errors = op.error?.errors ?? [];
          if (errors.length > 0 || (op.httpErrorStatusCode ?? 0) >= 400)
            throw operationFailed(ref, operation, errors, op.httpErrorMessage ?? '');
          return;
        }
        if (Date.now() > deadline)
          throw new GtError(
            'GT_TIMEOUT',
            `operation ${operation} on ${ref.project}/${ref.zone}/${ref.instance} is not done after ${Math.round((o?.timeoutMs ?? OPERATION_TIMEOUT_MS) / 1000)} s`,
            {
              hint: `look at it in the Cloud console (Compute Engine → Operations) of ${ref.project}`,
            },
          );
      }
    },
    close: async () => {
      await Promise.allSettled([instances.close(), operations.close()]);
    },
  };
}
