/**
 * Provisioning a bare host over an SshConnection (VS Code Remote-SSH is the model):
 *   probe    one round trip: platform (uname, glibc, systemd, free disk) and what is installed
 *   lock     <town_path>/.gt/provision.lock, held while we are connected (provision-lock.ts)
 *   upload   the coordinator's own node binary + the agent bundle, as one archive, into
 *            <town_path>/.gt/versions/<version>.partial, and sha256 of every file (upload.ts)
 *   verify   those checksums against the local manifest (a failure up to here leaves the host
 *            as it was: the partial dir is removed)
 *   switch   move it to versions/<version>; .gt/current -> it (atomic rename of a symlink)
 *   start    the agent under a supervisor that restarts it (the old one stopped first), and
 *            wait until it listens; when it does not, the previous version is switched back in
 * The caller handshakes afterwards and switches back on failure (switchBack).
 * Every remote command is argv; the fixed scripts below take user values only as "$1"….
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GT_VERSION, GtError, errorMessage } from '../../proto/index.js';
import type { SshConnection } from './connection.js';
import { remoteLayout } from './machine.js';
import { LOCK_SCRIPT, runLocked, type ProvisionLock } from './provision-lock.js';
import { AGENT_FUNCTIONS, SUPERVISOR, agentService, type AgentService } from './service.js';
import { uploadFiles } from './upload.js';

export interface Platform {
  os: string;
  arch: string;
  glibc: string | undefined;
  systemd: boolean;
  diskFreeBytes: number;
  home: string;
  current: string | undefined;
  installed: boolean;
  agentRunning: boolean;
  uid: number | undefined;
}

export interface BundleManifest {
  version: string;
  hash: string;
  files: Array<{ path: string; size: number; sha256: string }>;
}

export interface ProvisionOptions {
  conn: SshConnection;
  machine: string;
  townPath: string;
  /** dist/agent-bundle (found next to this code by default). */
  bundleDir?: string;
  /** The node binary to ship (default: this process's). */
  nodeBinary?: string;
  onStep?: (step: string, detail?: string) => void;
  /** Bytes of the upload sent so far, of the total. */
  onBytes?: (sent: number, total: number) => void;
  /** `gt machine upgrade`: refuse a machine with no agent installed yet. */
  upgrade?: boolean;
  /** A file remembering the node binary's sha256 (e.g. under the town's run/). */
  nodeShaCache?: string;
}

export interface ProvisionResult {
  changed: boolean;
  version: string;
  previous: string | undefined;
  platform: Platform;
  /** How the agent runs: a systemd unit (systemd, root) or the restart-loop supervisor. */
  supervisor: AgentService;
  uploadedBytes: number;
  /** The node agent version the bundle carries: what the handshake must answer. */
  bundleVersion: string;
  /** A stale provisioning lock (its holder gone) was broken: whose it was. */
  brokeLock: string | undefined;
}

/** Find dist/agent-bundle from wherever this code runs (bundled dist/ or the sources). */
export function findAgentBundle(from = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    for (const c of [join(dir, 'agent-bundle'), join(dir, 'dist', 'agent-bundle')])
      if (existsSync(join(c, 'manifest.json'))) return c;
    if (dirname(dir) === dir) break;
  }
  throw new GtError('GT_PROVISION_FAILED', 'the node agent bundle (dist/agent-bundle) is missing', {
    hint: 'run `npm run build` in the Gas Town checkout (it builds dist/agent-bundle)',
  });
}

/** The remote scripts (exported for their syntax test). */
export const PROBE = `${AGENT_FUNCTIONS}
t=$1; v=$2
echo "os=$(uname -s)"; echo "arch=$(uname -m)"; echo "home=$HOME"
g=$(getconf GNU_LIBC_VERSION 2>/dev/null) && echo "glibc=\${g#glibc }"
[ -d /run/systemd/system ] && echo systemd=yes
d=$t; while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo "disk=$(df -Pk "$d" | tail -n 1 | tr -s ' ' | cut -d ' ' -f 4)"
[ -L "$t/.gt/current" ] && echo "current=$(basename "$(readlink "$t/.gt/current")")"
[ -f "$t/.gt/versions/$v/.complete" ] && echo installed=yes
echo "uid=$(id -u)"
agent_running "$t" && [ -S "$t/run/node-agent.sock" ] && echo running=yes
exit 0
`;

/**
 * The probe, then (unless the version runs already) the provisioning lock, in one channel:
 * $1 town path, $2 version, $3 lock owner. Prints the probe, then "uptodate" and exits, or takes
 * the lock (see provision-lock.ts) and holds it.
 */
export const PROBE_AND_LOCK = PROBE.replace(
  /exit 0\n$/,
  `[ -f "$t/.gt/versions/$v/.complete" ] && [ -L "$t/.gt/current" ] &&
  [ "$(basename "$(readlink "$t/.gt/current")")" = "$v" ] && agent_running "$t" &&
  [ -S "$t/run/node-agent.sock" ] && { echo uptodate; exit 0; }
${LOCK_SCRIPT}`,
);

export const RESTART = `${AGENT_FUNCTIONS}
stop_agent "$1"; start_agent "$1" "$2"`;

const SWITCH = `cd "$1/.gt" && ln -sfn "versions/$2" current.new && mv -T current.new current`;

// One round trip after the upload: mark the verified version complete and move it in place
// ($6: the uploaded dir, empty when it was installed already), write the agent's config ($4)
// and the supervisor ($5), switch .gt/current to it, restart the agent and wait until it
// listens. Exit 10: install, 11: switch, 13: start (its output says why). Once it listens, every
// other version but the previous one ($7, kept to switch back to) is removed, and so is any
// partial upload left by an interrupted run (we hold the lock: none is in progress).
export const INSTALL = `${AGENT_FUNCTIONS}
t=$1; v=$2; m=$3; g="$1/.gt"
if [ -n "$6" ]; then
  echo "$v" > "$6/.complete" && chmod 755 "$6/node" && rm -rf "$g/versions/$v" && mv "$6" "$g/versions/$v" || exit 10
fi
printf '%s\\n' "$4" > "$g/agent.json.tmp" && mv "$g/agent.json.tmp" "$g/agent.json" || exit 10
printf '%s' "$5" > "$g/supervisor.sh.tmp" && chmod 755 "$g/supervisor.sh.tmp" && mv "$g/supervisor.sh.tmp" "$g/supervisor.sh" || exit 10
cd "$g" && ln -sfn "versions/$v" current.new && mv -T current.new current || exit 11
stop_agent "$t"; start_agent "$t" "$m" || exit 13
cd "$g/versions" && for d in *; do case "$d" in "$v"|"$7") ;; *) rm -rf "./$d" ;; esac; done
exit 0`;

function parseProbe(text: string): Platform {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  return {
    os: kv.get('os') ?? '',
    arch: kv.get('arch') ?? '',
    glibc: kv.get('glibc'),
    systemd: kv.get('systemd') === 'yes',
    diskFreeBytes: Number(kv.get('disk') ?? '0') * 1024,
    home: kv.get('home') ?? '',
    current: kv.get('current'),
    installed: kv.get('installed') === 'yes',
    agentRunning: kv.get('running') === 'yes',
    uid: kv.has('uid') ? Number(kv.get('uid')) : undefined,
  };
}

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

function versionAtLeast(v: string, min: [number, number]): boolean {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return a > min[0] || (a === min[0] && b >= min[1]);
}

function failed(
  machine: string,
  step: string,
  message: string,
  hint: string,
  cause?: unknown,
  verb = 'provisioning',
): GtError {
  return new GtError('GT_PROVISION_FAILED', `${verb} ${machine} failed at "${step}": ${message}`, {
    hint,
    cause,
    details: { step },
  });
}

/** The version directory name: package version + the bundle's and node binary's content hash. */
export function versionName(manifest: BundleManifest, nodeSha: string): string {
  const h = createHash('sha256').update(manifest.hash).update(nodeSha).digest('hex').slice(0, 10);
  return `${manifest.version}-${h}`;
}

async function sh(
  conn: SshConnection,
  script: string,
  args: string[],
  step: string,
  machine: string,
): Promise<string> {
  const r = await conn.exec(['sh', '-c', script, 'sh', ...args], { timeoutMs: 120_000 });
  if (r.code !== 0)
    throw failed(
      machine,
      step,
      `exit ${r.code}: ${r.stderr.trim() || r.stdout.toString().trim()}`,
      `look at ${machine} by hand: \`gt machine status ${machine}\``,
    );
  return r.stdout.toString();
}

export async function probePlatform(
  conn: SshConnection,
  townPath: string,
  version: string,
): Promise<Platform> {
  const r = await conn.exec(['sh', '-c', PROBE, 'sh', townPath, version], { timeoutMs: 30_000 });
  return parseProbe(r.stdout.toString());
}

function checkPlatform(platform: Platform, machine: string, verb: string): void {
  const fail = (message: string, hint: string): GtError =>
    failed(machine, 'probe', message, hint, undefined, verb);
  if (platform.os !== 'Linux')
    throw fail(
      `the host runs ${platform.os || 'an unknown OS'}, not Linux`,
      'use a Linux host (Debian 11 or later works)',
    );
  if (platform.arch !== (ARCH[process.arch] ?? process.arch))
    throw fail(
      `the host is ${platform.arch}; this coordinator's Node.js is ${process.arch}`,
      `install Node.js 20 or later for ${platform.arch} on ${machine}, or run the coordinator on a ${platform.arch} machine`,
    );
  if (platform.glibc === undefined || !versionAtLeast(platform.glibc, [2, 28]))
    throw fail(
      `the host's C library is ${platform.glibc === undefined ? 'not glibc (musl?)' : `glibc ${platform.glibc}`}; Node.js needs glibc 2.28 or later`,
      `use a glibc 2.28+ distribution (Debian 10+, Ubuntu 20.04+) on ${machine}`,
    );
}

/**
 * sha256 of the node binary, remembered in `cacheFile` by path, size, mtime and inode: hashing
 * ~100 MB costs ~250 ms, and every provisioning needs it for the version name.
 */
function nodeSha256(nodeBinary: string, cacheFile: string | undefined): string {
  const st = statSync(nodeBinary);
  const key = `${nodeBinary}:${st.size}:${st.mtimeMs}:${st.ino}`;
  if (cacheFile !== undefined)
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as {
        key?: string;
        sha256?: string;
      };
      if (cached.key === key && typeof cached.sha256 === 'string') return cached.sha256;
    } catch {
      /* no cache yet */
    }
  const sha256 = createHash('sha256').update(readFileSync(nodeBinary)).digest('hex');
  if (cacheFile !== undefined)
    try {
      mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ key, sha256 }));
      renameSync(tmp, cacheFile);
    } catch {
      /* a cache only */
    }
  return sha256;
}

/** What is shipped: the node binary, then the bundle's files (manifest order); read on demand. */
function payload(
  bundleDir: string,
  nodeBinary: string,
  cacheFile: string | undefined,
): {
  manifest: BundleManifest;
  version: string;
  bytes: number;
  files(): Array<{ path: string; data: Buffer; sha256: string; mode: number }>;
} {
  const manifest = JSON.parse(
    readFileSync(join(bundleDir, 'manifest.json'), 'utf8'),
  ) as BundleManifest;
  const nodeSha = nodeSha256(nodeBinary, cacheFile);
  return {
    manifest,
    version: versionName(manifest, nodeSha),
    bytes: statSync(nodeBinary).size + manifest.files.reduce((s, f) => s + f.size, 0),
    files: () => [
      { path: 'node', data: readFileSync(nodeBinary), sha256: nodeSha, mode: 0o755 },
      ...manifest.files.map((f) => ({
        path: f.path,
        data: readFileSync(join(bundleDir, f.path)),
        sha256: f.sha256,
        mode: 0o644,
      })),
    ],
  };
}

/** Install (if needed) and start the node agent; see the file comment. */
export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const { conn, machine, townPath } = options;
  const verb = options.upgrade === true ? 'upgrading' : 'provisioning';
  const fail = (step: string, message: string, hint: string, cause?: unknown): GtError =>
    failed(machine, step, message, hint, cause, verb);
  const step = options.onStep ?? (() => undefined);
  const shipped = payload(
    options.bundleDir ?? findAgentBundle(),
    options.nodeBinary ?? process.execPath,
    options.nodeShaCache,
  );
  const { manifest, version } = shipped;
  const layout = remoteLayout(townPath);
  const base = { version, bundleVersion: manifest.version };

  step('probe', `${conn.target.user}@${conn.target.host}:${conn.target.port}`);
  const owner = `${process.pid}@${conn.target.machine} ${new Date().toISOString()}`;
  const probed = await runLocked(conn, PROBE_AND_LOCK, [townPath, version, owner], {
    machine,
    townPath,
    verb,
  });
  const lock: ProvisionLock | undefined = probed.lock;
  const platform = parseProbe(probed.output);
  const supervisor = agentService(platform);
  const withService = { ...base, supervisor };
  try {
    checkPlatform(platform, machine, verb);
    if (options.upgrade === true && platform.current === undefined)
      throw fail(
        'probe',
        `no node agent is installed there yet (${townPath})`,
        `install it first: \`gt machine provision ${machine}\``,
      );
    if (!platform.installed && platform.diskFreeBytes < shipped.bytes * 1.5)
      throw fail(
        'probe',
        `only ${Math.round(platform.diskFreeBytes / 1e6)} MB free under ${townPath}; ${Math.round((shipped.bytes * 1.5) / 1e6)} MB needed`,
        `free disk space on ${machine}`,
      );
  } catch (err) {
    await lock?.release();
    throw err;
  }
  if (lock === undefined) {
    if (!/^uptodate$/m.test(probed.output))
      throw fail(
        'probe',
        'the probe ended without an answer',
        `run \`gt machine provision ${machine}\` again`,
      );
    step('up to date', version);
    return {
      ...withService,
      changed: false,
      previous: version,
      platform,
      uploadedBytes: 0,
      brokeLock: undefined,
    };
  }
  const needed = shipped.bytes;
  if (lock.broke !== undefined)
    step('lock', `broke a stale provisioning lock: its holder (${lock.broke}) is gone`);
  const partial = join(layout.versions, `${version}.partial`);
  let uploadedBytes = 0;
  try {
    if (!platform.installed) {
      const files = shipped.files();
      step('upload', `${files.length} files, ${needed} bytes`);
      let sums: Map<string, string>;
      try {
        sums = await uploadFiles({
          conn,
          dir: partial,
          files,
          ...(options.onBytes === undefined ? {} : { onBytes: options.onBytes }),
        });
      } catch (err) {
        throw fail(
          'upload',
          errorMessage(err),
          `check free space and permissions under ${townPath} on ${machine}`,
          err,
        );
      }
      uploadedBytes = needed;
      step('verify', `${files.length} files`);
      const bad = files.filter((f) => sums.get(f.path) !== f.sha256).map((f) => f.path);
      if (bad.length > 0)
        throw fail(
          'verify',
          `checksum mismatch for ${bad.join(', ')}`,
          `run \`gt machine provision ${machine}\` again; if it fails again, rebuild the bundle (\`npm run build\`)`,
        );
    }
    step('switch', version);
    const config = JSON.stringify(
      { machine, town_path: townPath, version, gt_version: GT_VERSION },
      null,
      2,
    );
    step(
      'start',
      supervisor === 'systemd' ? 'systemd unit gt-node-agent@' : 'restart-loop supervisor',
    );
    const r = await conn.exec(
      [
        'sh',
        '-c',
        INSTALL,
        'sh',
        townPath,
        version,
        machine,
        config,
        SUPERVISOR,
        platform.installed ? '' : partial,
        platform.current ?? '',
      ],
      { timeoutMs: 120_000 },
    );
    if (r.code !== 0) {
      const what = r.code === 13 ? 'start' : r.code === 11 ? 'switch' : 'install';
      const out = r.stdout.toString().trim();
      const exits = /^exits=(\d+)$/m.exec(out)?.[1];
      const message =
        what === 'start'
          ? `the node agent ${exits !== undefined && Number(exits) >= 2 ? `exited ${exits} times at start` : 'did not start listening within 30 s'}${out.includes('log:') ? `; its log ends:\n${out.slice(out.indexOf('log:') + 5)}` : ''}`
          : `exit ${String(r.code)}: ${r.stderr.trim() || out}`;
      const back = await restorePrevious(conn, townPath, machine, platform.current, version);
      throw fail(what, message, back);
    }
  } catch (err) {
    await conn.exec(['rm', '-rf', partial]).catch(() => undefined);
    if (err instanceof GtError) throw err;
    throw fail('install', errorMessage(err), `run \`gt machine provision ${machine}\` again`, err);
  } finally {
    await lock.release().catch(() => undefined);
  }
  return {
    ...withService,
    changed: true,
    previous: platform.current,
    platform,
    uploadedBytes,
    brokeLock: lock.broke,
  };
}

/**
 * After a failed start: switch the previous version back in and restart it. Returns the hint
 * saying what was done (or that nothing could be).
 */
async function restorePrevious(
  conn: SshConnection,
  townPath: string,
  machine: string,
  previous: string | undefined,
  version: string,
): Promise<string> {
  const log = `${townPath}/run/node-agent.log on ${machine}`;
  if (previous === undefined || previous === version) return `read ${log}`;
  try {
    await switchBack(conn, townPath, machine, previous);
    return `version ${previous} was switched back in and runs again; read ${log}`;
  } catch (err) {
    return `switching back to ${previous} failed too (${errorMessage(err)}); read ${log} and run \`gt machine provision ${machine}\``;
  }
}

/** Stop the agent and its supervisor (if running), start them again from .gt/current, and wait until it listens. */
export async function restartAgent(
  conn: SshConnection,
  townPath: string,
  machine: string,
): Promise<void> {
  await sh(conn, RESTART, [townPath, machine], 'start', machine);
}

/** Point .gt/current back at `version` and restart (after a failed start or handshake). */
export async function switchBack(
  conn: SshConnection,
  townPath: string,
  machine: string,
  version: string,
): Promise<void> {
  await sh(conn, SWITCH, [townPath, version], 'switch back', machine);
  await restartAgent(conn, townPath, machine);
}
