// A local fake of the Compute Engine REST endpoints @google-cloud/compute uses (instances insert,
// get, list, delete, start, stop; zoneOperations wait and get), on 127.0.0.1. Each instance it
// creates is a bare test-host container (test/hosts/image.ts) whose `ssh-keys` metadata user is
// made and given that key, as the guest agent does; its "external IP" is a loopback address of
// its own (127.x.y.z) where the fake forwards port 22 to the container. A stop stops the
// container and releases the address; a start gets a new one, as Compute Engine does.
//
// Auth: the client signs its own JWT with the service-account key this fake writes (no token
// endpoint is involved); every request is checked against that key and logged. Faults are
// injected per method: a 403, a quota error, an operation that fails; an instance's creation can
// be held (its insert operation runs until released: a slow machine).
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, connect, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureTestHostImage } from './image.js';

const execFileP = promisify(execFile);
const docker = async (args: string[]): Promise<string> => (await execFileP('docker', args)).stdout;

export type FaultKind = 'forbidden' | 'quota' | 'operation';
export type FakeMethod = 'insert' | 'get' | 'delete' | 'start' | 'stop' | 'list';

export interface FakeRequest {
  method: string;
  path: string;
  /** 'jwt': a valid signature of our key; 'none' / 'bad' otherwise. */
  auth: 'jwt' | 'none' | 'bad';
}

interface FakeInstance {
  id: string;
  name: string;
  project: string;
  zone: string;
  status: string;
  resource: Record<string, unknown>;
  container: string;
  address: string | undefined;
  proxy: TcpServer | undefined;
  created: string;
}

interface FakeOperation {
  id: string;
  name: string;
  zone: string;
  type: string;
  target: string;
  status: 'RUNNING' | 'DONE';
  error?: { errors: Array<{ code: string; message: string }> };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
  done: Promise<void>;
}

export interface FakeCompute {
  /** `http://127.0.0.1:<port>` for GT_GCP_ENDPOINT. */
  endpoint: string;
  /** A service-account key file (0600) for GOOGLE_APPLICATION_CREDENTIALS. */
  keyFile: string;
  requests: FakeRequest[];
  /** The next call of `method` fails this way. */
  fail(method: FakeMethod, kind: FaultKind): void;
  /** The instance named so is not created (its insert operation keeps running) until released. */
  hold(name: string): void;
  release(name: string): void;
  instance(
    name: string,
  ): { status: string; address: string | undefined; container: string } | undefined;
  stop(): Promise<void>;
}

const AUDIENCE = 'https://compute.googleapis.com/';
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

function b64url(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** Is this a JWT signed by our service account's key for the Compute audience? */
function checkJwt(header: string | undefined, key: KeyObject, email: string): FakeRequest['auth'] {
  const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
  if (token === undefined) return 'none';
  const [h = '', p = '', s = ''] = token.split('.');
  try {
    if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, b64url(s))) return 'bad';
    const claims = JSON.parse(b64url(p).toString()) as {
      iss?: string;
      aud?: string;
      scope?: string;
      exp?: number;
    };
    const fresh = (claims.exp ?? 0) * 1000 > Date.now();
    const forUs = claims.aud === AUDIENCE || (claims.scope ?? '').split(' ').includes(SCOPE);
    return claims.iss === email && forUs && fresh ? 'jwt' : 'bad';
  } catch {
    return 'bad';
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

function apiError(res: ServerResponse, status: number, message: string, reason: string): void {
  send(res, status, {
    error: { code: status, message, errors: [{ message, domain: 'global', reason }] },
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

async function keygen(file: string): Promise<string> {
  await execFileP('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'fake-instance',
    '-f',
    file,
  ]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** Files put into every instance's container when it is created (e.g. a stand-in agent CLI). */
export interface FakeComputeOptions {
  files?: Array<{ content: string; target: string; mode?: number }>;
}

export async function startFakeCompute(
  dir: string,
  options: FakeComputeOptions = {},
): Promise<FakeCompute> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const image = await ensureTestHostImage();
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = 'gastown-test@fake-project.iam.gserviceaccount.com';
  const requests: FakeRequest[] = [];
  const faults = new Map<FakeMethod, FaultKind>();
  const instances = new Map<string, FakeInstance>();
  const operations = new Map<string, FakeOperation>();
  const held = new Map<string, { until: Promise<void>; open: () => void }>();
  // A /16 of loopback of our own; each start takes the next address in it.
  const net = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  let nextHost = 1;
  let nextId = BigInt(Date.now()) * 1000n;

  const url = (p: string): string => `https://www.googleapis.com/compute/v1/${p}`;

  async function listen22(inst: FakeInstance): Promise<void> {
    const ports = await docker(['port', inst.container, '22/tcp']);
    const port = Number(/:(\d+)\s*$/m.exec(ports)?.[1]);
    const address = `${net}.${nextHost++}`;
    const proxy = createTcpServer((socket) => {
      const upstream = connect({ host: '127.0.0.1', port });
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(22, address, () => resolve());
    });
    inst.proxy = proxy;
    inst.address = address;
  }

  async function release(inst: FakeInstance): Promise<void> {
    const proxy = inst.proxy;
    inst.proxy = undefined;
    inst.address = undefined;
    if (proxy !== undefined) await new Promise((r) => proxy.close(() => r(undefined)));
  }

  /** The guest agent's part: the metadata's ssh-keys users, made and given their keys. */
  async function installKeys(inst: FakeInstance): Promise<void> {
    const items = (inst.resource.metadata as { items?: Array<{ key: string; value: string }> })
      ?.items;
    const value = items?.find((i) => i.key === 'ssh-keys')?.value ?? '';
    for (const line of value.split('\n').filter((l) => l.includes(':'))) {
      const user = line.slice(0, line.indexOf(':'));
      const key = line.slice(line.indexOf(':') + 1);
      const script =
        'id "$1" >/dev/null 2>&1 || useradd -m -s /bin/sh "$1"; h=$(getent passwd "$1" | cut -d: -f6); ' +
        'mkdir -p "$h/.ssh" && printf "%s\\n" "$2" >> "$h/.ssh/authorized_keys" && chmod 700 "$h/.ssh" && ' +
        'chmod 600 "$h/.ssh/authorized_keys" && chown -R "$1:" "$h/.ssh"';
      await docker(['exec', inst.container, 'sh', '-c', script, 'sh', user, key]);
    }
  }

  async function createContainer(inst: FakeInstance): Promise<void> {
    const hostKey = join(dir, `host_${inst.name}_${inst.id}`);
    await keygen(hostKey);
    const { GenericContainer } = await import('testcontainers');
    const c = await new GenericContainer(image)
      .withName(`gt-test-gcp-${inst.name}-${process.pid}-${Date.now().toString(36)}`)
      .withExposedPorts(22)
      .withCopyContentToContainer([
        { content: readFileSync(hostKey), target: '/etc/ssh/gt_host_key', mode: 0o600 },
        ...(options.files ?? []),
      ])
      .withCommand(['/usr/sbin/sshd', '-D', '-e', '-o', 'HostKey=/etc/ssh/gt_host_key'])
      .withStartupTimeout(60_000)
      .start();
    inst.container = c.getId();
    await installKeys(inst);
    await listen22(inst);
  }

  function operation(
    inst: FakeInstance,
    type: string,
    work: () => Promise<void>,
    fault?: FaultKind,
  ): FakeOperation {
    const name = `operation-${Date.now()}-${randomBytes(4).toString('hex')}`;
    const op: FakeOperation = {
      id: String(nextId++),
      name,
      zone: inst.zone,
      type,
      target: url(`projects/${inst.project}/zones/${inst.zone}/instances/${inst.name}`),
      status: 'RUNNING',
      done: Promise.resolve(),
    };
    const fails = async (): Promise<void> => {
      if (fault === 'quota') {
        op.error = {
          errors: [
            {
              code: 'QUOTA_EXCEEDED',
              message: "Quota 'CPUS' exceeded.  Limit: 8.0 in region us-central1.",
            },
          ],
        };
        op.httpErrorStatusCode = 403;
        op.httpErrorMessage = 'FORBIDDEN';
      } else {
        op.error = {
          errors: [
            {
              code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
              message: `The zone 'projects/${inst.project}/zones/${inst.zone}' does not have enough resources available to fulfill the request.`,
            },
          ],
        };
        op.httpErrorStatusCode = 503;
        op.httpErrorMessage = 'SERVICE UNAVAILABLE';
      }
      if (type === 'insert') instances.delete(inst.name);
    };
    op.done = (fault === undefined ? work() : fails())
      .catch((e: unknown) => {
        op.error = { errors: [{ code: 'INTERNAL_ERROR', message: String(e) }] };
      })
      .finally(() => {
        op.status = 'DONE';
      });
    operations.set(name, op);
    return op;
  }

  const opJson = (op: FakeOperation): Record<string, unknown> => ({
    kind: 'compute#operation',
    id: op.id,
    name: op.name,
    zone: url(`projects/x/zones/${op.zone}`),
    operationType: op.type,
    targetLink: op.target,
    status: op.status,
    progress: op.status === 'DONE' ? 100 : 0,
    ...(op.error === undefined
      ? {}
      : {
          error: op.error,
          httpErrorStatusCode: op.httpErrorStatusCode,
          httpErrorMessage: op.httpErrorMessage,
        }),
  });

  const instJson = (i: FakeInstance): Record<string, unknown> => ({
    ...i.resource,
    kind: 'compute#instance',
    id: i.id,
    name: i.name,
    status: i.status,
    creationTimestamp: i.created,
    zone: url(`projects/${i.project}/zones/${i.zone}`),
    machineType: url(`projects/${i.project}/${String(i.resource.machineType)}`),
    networkInterfaces: [
      {
        network: url(`projects/${i.project}/global/networks/default`),
        networkIP: '10.128.0.2',
        accessConfigs: [
          {
            type: 'ONE_TO_ONE_NAT',
            name: 'External NAT',
            ...(i.address === undefined ? {} : { natIP: i.address }),
          },
        ],
      },
    ],
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const auth = checkJwt(req.headers.authorization, publicKey, email);
    requests.push({ method: req.method ?? '', path, auth });
    if (auth !== 'jwt')
      return apiError(res, 401, 'Request had invalid authentication credentials.', 'authError');
    const m =
      /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/(instances|operations)(?:\/([^/]+))?(?:\/(start|stop|wait))?$/.exec(
        path,
      );
    if (m === null) return apiError(res, 404, `no such path ${path}`, 'notFound');
    const [, project = '', zone = '', kind, name, verb] = m;
    if (kind === 'operations') {
      const op = operations.get(name ?? '');
      if (op === undefined) return apiError(res, 404, `operation ${name} not found`, 'notFound');
      if (verb === 'wait') await Promise.race([op.done, new Promise((r) => setTimeout(r, 30_000))]);
      return send(res, 200, opJson(op));
    }
    const method: FakeMethod =
      req.method === 'POST' && name === undefined
        ? 'insert'
        : req.method === 'DELETE'
          ? 'delete'
          : verb === 'start' || verb === 'stop'
            ? verb
            : name === undefined
              ? 'list'
              : 'get';
    const fault = faults.get(method);
    faults.delete(method);
    if (fault === 'forbidden')
      return apiError(
        res,
        403,
        `Required 'compute.instances.${method === 'insert' ? 'create' : method}' permission for 'projects/${project}/zones/${zone}/instances/${name ?? ''}'`,
        'forbidden',
      );
    if (method === 'list')
      return send(res, 200, {
        kind: 'compute#instanceList',
        items: [...instances.values()].filter((i) => i.zone === zone).map(instJson),
      });
    if (method === 'insert') {
      const resource = JSON.parse(await readBody(req)) as Record<string, unknown>;
      const iname = String(resource.name);
      if (instances.has(iname))
        return apiError(
          res,
          409,
          `The resource 'projects/${project}/zones/${zone}/instances/${iname}' already exists`,
          'alreadyExists',
        );
      const inst: FakeInstance = {
        id: String(nextId++),
        name: iname,
        project,
        zone,
        status: 'PROVISIONING',
        resource,
        container: '',
        address: undefined,
        proxy: undefined,
        created: new Date().toISOString(),
      };
      instances.set(iname, inst);
      const op = operation(
        inst,
        'insert',
        async () => {
          inst.status = 'STAGING';
          await held.get(iname)?.until;
          await createContainer(inst);
          inst.status = 'RUNNING';
        },
        fault,
      );
      return send(res, 200, opJson(op));
    }
    const inst = instances.get(name ?? '');
    if (inst === undefined)
      return apiError(
        res,
        404,
        `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`,
        'notFound',
      );
    if (method === 'get') return send(res, 200, instJson(inst));
    const work: Record<'delete' | 'start' | 'stop', () => Promise<void>> = {
      delete: async () => {
        await release(inst);
        await docker(['rm', '-f', inst.container]);
        instances.delete(inst.name);
      },
      stop: async () => {
        inst.status = 'STOPPING';
        await release(inst);
        await docker(['stop', '-t', '1', inst.container]);
        inst.status = 'TERMINATED';
      },
      start: async () => {
        inst.status = 'STAGING';
        await docker(['start', inst.container]);
        await listen22(inst);
        inst.status = 'RUNNING';
      },
    };
    return send(
      res,
      200,
      opJson(operation(inst, method, work[method as 'delete' | 'start' | 'stop'], fault)),
    );
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => apiError(res, 500, String(e), 'backendError'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const keyFile = join(dir, 'service-account.json');
  writeFileSync(
    keyFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'fake-project',
      private_key_id: randomBytes(8).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: '1',
      // Never used: the client signs its own JWT for the API. A loopback address all the same.
      token_uri: `${endpoint}/token`,
    }),
    { mode: 0o600 },
  );

  return {
    endpoint,
    keyFile,
    requests,
    fail: (method, kind) => void faults.set(method, kind),
    hold: (name) => {
      let open = (): void => undefined;
      const until = new Promise<void>((r) => (open = r));
      held.set(name, { until, open });
    },
    release: (name) => {
      held.get(name)?.open();
      held.delete(name);
    },
    instance: (name) => {
      const i = instances.get(name);
      return i === undefined
        ? undefined
        : { status: i.status, address: i.address, container: i.container };
    },
    stop: async () => {
      for (const h of held.values()) h.open();
      server.closeAllConnections();
      await new Promise((r) => server.close(() => r(undefined)));
      for (const i of instances.values()) {
        await release(i);
        if (i.container !== '') await docker(['rm', '-f', i.container]).catch(() => '');
      }
    },
  };
}
