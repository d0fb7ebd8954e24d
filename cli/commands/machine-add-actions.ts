/** Actions of `gt machine add` / `gt machine provision` (see machine-add.ts). */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, posix, resolve } from 'node:path';
import {
  FederationSchema,
  federationPath,
  loadSsh,
  readFederation,
  type Federation,
  type Machine,
  type SshModule,
} from '../../coordinator/index.js';
import {
  GtError,
  errorMessage,
  isGtError,
  readJsonFile,
  townRootProblem,
  withFileLock,
  writeJsonAtomic,
} from '../../proto/index.js';
import { err, out, printJson } from '../output.js';
import { Progress } from '../progress.js';
import { askYes } from '../prompt.js';

type ProvisionMachineOptions = Parameters<SshModule['provisionMachine']>[0];
type ProvisionMachineResult = Awaited<ReturnType<SshModule['provisionMachine']>>;
import { resolveTownRoot } from '../town-root.js';
import { optionsOf } from './context.js';

type SshMachine = Extract<Machine, { type: 'ssh' }>;

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ADDRESS =
  /^([A-Za-z0-9._][A-Za-z0-9._-]*)@([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

function usage(message: string, hint: string): GtError {
  return new GtError('GT_USAGE', message, { hint });
}

export function parseSshAddress(text: string): { user: string; host: string; port: number } {
  const m = ADDRESS.exec(text);
  const port = m?.[4] === undefined ? 22 : Number(m[4]);
  if (m === null || port < 1 || port > 65535)
    throw usage(
      `malformed ssh address "${text}"`,
      'write it as user@host or user@host:port, e.g. --ssh deploy@10.0.0.5:2222',
    );
  const host = (m[2] ?? '').replace(/^\[(.*)\]$/, '$1');
  return { user: m[1] ?? '', host, port };
}

export function checkMachineName(name: string): void {
  if (!NAME.test(name) || name.length > 63)
    throw usage(
      `invalid machine name "${name}": a machine name is lowercase letters, digits and inner hyphens (at most 63)`,
      `pick a name like ${
        name
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, '-')
          .replace(/^-+|-+$/g, '') || 'worker-1'
      }`,
    );
}

/** A readable, unencrypted private key (what ssh2 can log in with). */
export async function checkIdentity(file: string): Promise<string> {
  const path = resolve(file);
  if (!existsSync(path))
    throw usage(
      `identity file ${path} does not exist`,
      'give the private key file with --identity, e.g. ~/.ssh/id_ed25519',
    );
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) throw new Error('not a file');
  } catch {
    throw usage(
      `identity file ${path} cannot be read`,
      `check its owner and mode (\`chmod 600 ${path}\`)`,
    );
  }
  // ssh2 is CommonJS: `utils` is only on its default export under Node's ESM loader.
  const { utils } = (await import('ssh2')).default;
  const parsed = utils.parseKey(readFileSync(path));
  if (parsed instanceof Error || !parsed.isPrivateKey()) {
    const why = parsed instanceof Error ? parsed.message : 'it is a public key';
    const encrypted = /encrypted|passphrase/i.test(why);
    throw usage(
      `identity file ${path} is not a usable private key (${why})`,
      encrypted
        ? 'load the key into ssh-agent (`ssh-add FILE`) and leave out --identity'
        : 'give the private key (not the .pub file) with --identity',
    );
  }
  return path;
}

function parseLabels(labels: string[] | undefined): string[] | undefined {
  if (labels === undefined) return undefined;
  for (const l of labels)
    if (!/^[A-Za-z0-9_.-]+=[^\s]*$/.test(l))
      throw usage(`invalid label "${l}"`, 'write labels as key=value, e.g. --label zone=eu');
  return labels;
}

async function readOrEmpty(townRoot: string): Promise<Federation> {
  const file = federationPath(townRoot);
  if (!existsSync(file)) return { version: 1, machines: { local: { type: 'local' } } };
  return readJsonFile(file, FederationSchema);
}

function duplicate(name: string): GtError {
  return usage(
    `a machine named "${name}" is already in config/federation.json`,
    `pick another name, or run \`gt machine provision ${name}\` to (re)install it`,
  );
}

/** Another agent bundle than this gt's own (dist/agent-bundle): GT_AGENT_BUNDLE=DIR. */
export function agentBundleDir(): { bundleDir?: string } {
  const dir = process.env.GT_AGENT_BUNDLE;
  return dir === undefined || dir === '' ? {} : { bundleDir: resolve(dir) };
}

/** Steps and bytes of one machine's provisioning, shown as cli/progress.ts does. */
function progress(
  name: string,
  json: boolean,
): Pick<ProvisionMachineOptions, 'onStep' | 'onBytes'> & { end(): void } {
  const p = new Progress([name], { json });
  return {
    onStep: (step, detail) => p.step(name, step, detail),
    onBytes: (sent, total) => p.bytes(name, sent, total),
    end: () => p.end(),
  };
}

async function provisionWithProgress(
  ssh: SshModule,
  options: Omit<ProvisionMachineOptions, 'onStep' | 'onBytes'>,
  json: boolean,
): Promise<ProvisionMachineResult> {
  const { end, ...callbacks } = progress(options.name, json);
  try {
    return await ssh.provisionMachine({ ...options, ...callbacks, ...agentBundleDir() });
  } finally {
    end();
  }
}

export async function machineAdd(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  const json = opts.json === true;
  checkMachineName(name);
  const addr = parseSshAddress(String(opts.ssh));
  const identity =
    opts.identity === undefined ? undefined : await checkIdentity(String(opts.identity));
  let townPath = opts.townPath as string | undefined;
  if (townPath !== undefined && (!isAbsolute(townPath) || townPath.split('/').includes('..')))
    throw usage(
      `--town-path ${townPath} must be an absolute path without ".."`,
      'e.g. --town-path /srv/gastown',
    );
  const tooLong = townPath === undefined ? undefined : townRootProblem(townPath);
  if (tooLong !== undefined)
    throw usage(tooLong, 'choose a shorter --town-path, e.g. /srv/gastown');
  const maxPolecats = opts.maxPolecats === undefined ? undefined : Number(opts.maxPolecats);
  if (maxPolecats !== undefined && (!Number.isInteger(maxPolecats) || maxPolecats < 1))
    throw usage(
      `--max-polecats ${String(opts.maxPolecats)} is not a positive whole number`,
      'e.g. --max-polecats 4',
    );
  const labels = parseLabels(opts.label as string[] | undefined);
  const townRoot = resolveTownRoot(opts.town);
  if ((await readOrEmpty(townRoot)).machines[name] !== undefined) throw duplicate(name);

  // Contact first: a refused host key or login writes nothing.
  const ssh = await loadSsh();
  const target = { machine: name, ...addr, identityFile: identity };
  const connect = (acceptFingerprint?: string) =>
    ssh.SshConnection.connect({
      target,
      townRoot,
      acceptHostKey: opts.acceptHostKey === true || acceptFingerprint !== undefined,
      ...(acceptFingerprint === undefined ? {} : { acceptFingerprint }),
    });
  const conn = await connect().catch(async (e: unknown) => {
    // On a terminal, an unknown host key is a question: yes records exactly the key shown.
    const offered =
      isGtError(e) && e.code === 'GT_HOST_KEY_UNKNOWN' ? e.details?.offered : undefined;
    if (typeof offered !== 'string' || json || !process.stdin.isTTY || !process.stdout.isTTY)
      throw e;
    err(errorMessage(e));
    if (
      !(await askYes(
        `Accept this host key (${offered}) and record it in config/known_hosts? [y/N] `,
      ))
    )
      throw e;
    return connect(offered);
  });
  try {
    if (townPath === undefined) {
      const home = (await conn.exec(['sh', '-c', 'printf %s "$HOME"'])).stdout.toString();
      townPath = posix.join(home === '' ? '/' : home, 'gastown');
    }
  } finally {
    await conn.close();
  }
  if (!json && conn.hostKey?.recorded === true)
    err(
      `recorded the host key of ${addr.host}:${addr.port}: ${conn.hostKey.keyType} ${conn.hostKey.fingerprint}`,
    );
  const machine: SshMachine = {
    type: 'ssh',
    host: addr.host,
    port: addr.port,
    user: addr.user,
    town_path: townPath,
    ...(identity === undefined ? {} : { identity_file: identity }),
    ...(maxPolecats === undefined ? {} : { max_polecats: maxPolecats }),
    ...(labels === undefined ? {} : { labels }),
  };
  const file = federationPath(townRoot);
  await withFileLock(file, async () => {
    const current = await readOrEmpty(townRoot);
    if (current.machines[name] !== undefined) throw duplicate(name);
    const next = FederationSchema.parse({
      ...current,
      machines: { ...current.machines, [name]: machine },
    });
    await writeJsonAtomic(file, next);
  });
  if (!json)
    out(`added machine "${name}" (${addr.user}@${addr.host}:${addr.port}, town path ${townPath})`);
  if (opts.provision === false) {
    if (json) printJson({ name, machine, provisioned: false });
    return;
  }
  if (!json) out(`provisioning ${name}…`);
  const result = await provisionWithProgress(ssh, { townRoot, name, machine }, json);
  report(name, machine, result, json);
}

function report(name: string, machine: SshMachine, r: ProvisionMachineResult, json: boolean): void {
  if (!json && r.brokeLock !== undefined)
    err(`note: broke a stale provisioning lock on ${name}: its holder (${r.brokeLock}) is gone`);
  if (json)
    return printJson({
      name,
      machine,
      provisioned: true,
      changed: r.changed,
      version: r.version,
      agent_version: r.agentVersion,
      transport: r.transport,
      supervisor: r.supervisor,
      uploaded_bytes: r.uploadedBytes,
      previous: r.previous ?? null,
      broke_stale_lock: r.brokeLock ?? null,
      platform: {
        arch: r.platform.arch,
        glibc: r.platform.glibc,
        systemd: r.platform.systemd,
        disk_free_bytes: r.platform.diskFreeBytes,
      },
    });
  out(
    r.changed
      ? `machine "${name}": node agent ${r.agentVersion} installed (${r.version}) and running (${r.supervisor}, ${r.transport ?? 'tunnel'})`
      : `machine "${name}": node agent ${r.agentVersion} already installed and running; nothing changed`,
  );
}

export async function machineProvision(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  const json = opts.json === true;
  const townRoot = resolveTownRoot(opts.town);
  const fed = await readFederation(townRoot);
  const machine = fed.machines[name];
  if (machine === undefined)
    throw new GtError(
      'GT_MACHINE_UNKNOWN',
      `no machine named "${name}" in config/federation.json`,
      {
        hint: 'add it with `gt machine add NAME --ssh user@host`',
      },
    );
  if (machine.type === 'gcp')
    return (await import('./machine-gcp-actions.js')).machineProvisionGcp(name, machine, opts);
  if (machine.type !== 'ssh')
    throw usage(
      `machine "${name}" is of type ${machine.type}; only ssh machines are provisioned`,
      'nothing to do for it',
    );
  const ssh = await loadSsh();
  const result = await provisionWithProgress(ssh, { townRoot, name, machine }, json);
  report(name, machine, result, json);
}
