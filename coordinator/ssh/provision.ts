/**
 * Provisioning a bare host over an SshConnection (VS Code Remote-SSH is the model):
 *   probe    one round trip: platform (uname, glibc, systemd, free disk) and what is installed
 *   upload   the coordinator's own node binary + the agent bundle into
 *            <town_path>/.gt/versions/<version>.partial, under a remote mkdir lock
 *   verify   sha256 of every uploaded file against the local manifest, then rename to
 *            versions/<version> (a failure before this leaves the host as it was)
 *   switch   .gt/current -> versions/<version> (atomic rename of a symlink)
 *   start    the agent under a supervisor that restarts it (stop the old one first)
 * The caller handshakes afterwards and switches back on failure (switchBack).
 * Every remote command is argv; the fixed scripts below take user values only as "$1"….
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GT_VERSION, GtError, errorMessage } from '../../proto/index.js';
import type { SshConnection } from './connection.js';
import { remoteLayout } from './machine.js';

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
}

export interface ProvisionResult {
  changed: boolean;
  version: string;
  previous: string | undefined;
  platform: Platform;
  supervisor: 'restart-loop';
  uploadedBytes: number;
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

const PROBE = `
t=$1; v=$2
echo "os=$(uname -s)"; echo "arch=$(uname -m)"; echo "home=$HOME"
g=$(getconf GNU_LIBC_VERSION 2>/dev/null) && echo "glibc=\${g#glibc }"
[ -d /run/systemd/system ] && echo systemd=yes
d=$t; while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo "disk=$(df -Pk "$d" | tail -n 1 | tr -s ' ' | cut -d ' ' -f 4)"
[ -L "$t/.gt/current" ] && echo "current=$(basename "$(readlink "$t/.gt/current")")"
[ -f "$t/.gt/versions/$v/.complete" ] && echo installed=yes
p="$t/run/node-agent-supervisor.pid"
[ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null && [ -S "$t/run/node-agent.sock" ] && echo running=yes
exit 0
`;

const LOCK = `
l="$1/.gt/provision.lock"; mkdir -p "$1/.gt" "$1/run" && chmod 700 "$1/run" || exit 3
if mkdir "$l" 2>/dev/null; then echo "$2" > "$l/owner"; exit 0; fi
if [ -n "$(find "$l" -maxdepth 0 -mmin +15 2>/dev/null)" ]; then rm -rf "$l"; mkdir "$l" && echo "$2" > "$l/owner" && exit 0; fi
cat "$l/owner" 2>/dev/null; exit 4
`;

const SUPERVISOR = `#!/bin/sh
# Gas Town node agent supervisor (written by gt machine provision): restarts the agent when it
# exits, one second apart; TERM stops both.
t=$1; m=$2
echo $$ > "$t/run/node-agent-supervisor.pid"
trap 'kill $child 2>/dev/null; wait $child; rm -f "$t/run/node-agent-supervisor.pid"; exit 0' TERM INT
while :; do
  "$t/.gt/current/node" "$t/.gt/current/agent.mjs" --town "$t" --machine "$m" >>"$t/run/node-agent.log" 2>&1 &
  child=$!
  wait $child
  sleep 1
done
`;

const STOP = `
t=$1; s="$t/run/node-agent-supervisor.pid"; a="$t/run/node-agent.pid"
[ -f "$s" ] && kill "$(cat "$s")" 2>/dev/null
if [ -f "$a" ]; then p=$(cat "$a"); kill "$p" 2>/dev/null; i=0
  while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  kill -9 "$p" 2>/dev/null; fi
rm -f "$s"; exit 0
`;

const START = `exec setsid -f sh "$1/.gt/supervisor.sh" "$1" "$2" </dev/null >/dev/null 2>&1`;

const SWITCH = `cd "$1/.gt" && ln -sfn "versions/$2" current.new && mv -T current.new current`;

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
): GtError {
  return new GtError(
    'GT_PROVISION_FAILED',
    `provisioning ${machine} failed at "${step}": ${message}`,
    {
      hint,
      cause,
    },
  );
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

/** Install (if needed) and start the node agent; see the file comment. */
export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const { conn, machine, townPath } = options;
  const step = options.onStep ?? (() => undefined);
  const bundleDir = options.bundleDir ?? findAgentBundle();
  const manifest = JSON.parse(
    readFileSync(join(bundleDir, 'manifest.json'), 'utf8'),
  ) as BundleManifest;
  const nodeBinary = options.nodeBinary ?? process.execPath;
  const node = readFileSync(nodeBinary);
  const nodeSha = createHash('sha256').update(node).digest('hex');
  const version = versionName(manifest, nodeSha);
  const layout = remoteLayout(townPath);

  step('probe', `${conn.target.user}@${conn.target.host}:${conn.target.port}`);
  const platform = await probePlatform(conn, townPath, version);
  if (platform.os !== 'Linux')
    throw failed(
      machine,
      'probe',
      `the host runs ${platform.os || 'an unknown OS'}, not Linux`,
      'use a Linux host (Debian 11 or later works)',
    );
  if (platform.arch !== (ARCH[process.arch] ?? process.arch))
    throw failed(
      machine,
      'probe',
      `the host is ${platform.arch}; this coordinator's Node.js is ${process.arch}`,
      `install Node.js 20 or later for ${platform.arch} on ${machine}, or run the coordinator on a ${platform.arch} machine`,
    );
  if (platform.glibc === undefined || !versionAtLeast(platform.glibc, [2, 28]))
    throw failed(
      machine,
      'probe',
      `the host's C library is ${platform.glibc === undefined ? 'not glibc (musl?)' : `glibc ${platform.glibc}`}; Node.js needs glibc 2.28 or later`,
      `use a glibc 2.28+ distribution (Debian 10+, Ubuntu 20.04+) on ${machine}`,
    );

  if (platform.installed && platform.current === version && platform.agentRunning) {
    step('up to date', version);
    return {
      changed: false,
      version,
      previous: version,
      platform,
      supervisor: 'restart-loop',
      uploadedBytes: 0,
    };
  }

  const needed = node.length + manifest.files.reduce((s, f) => s + f.size, 0);
  if (!platform.installed && platform.diskFreeBytes < needed * 1.5)
    throw failed(
      machine,
      'probe',
      `only ${Math.round(platform.diskFreeBytes / 1e6)} MB free under ${townPath}; ${Math.round((needed * 1.5) / 1e6)} MB needed`,
      `free disk space on ${machine}`,
    );

  const owner = `${process.pid}@${conn.target.machine}`;
  const lock = await conn.exec(['sh', '-c', LOCK, 'sh', townPath, owner], { timeoutMs: 30_000 });
  if (lock.code !== 0)
    throw failed(
      machine,
      'lock',
      lock.code === 4
        ? `another provisioning holds ${layout.gtDir}/provision.lock (${lock.stdout.toString().trim()})`
        : lock.stderr.trim(),
      lock.code === 4
        ? `wait for it to finish; if none runs, remove that directory on ${machine}`
        : `check that ${conn.target.user} can write ${townPath}`,
    );
  let uploadedBytes = 0;
  try {
    if (!platform.installed) {
      const partial = join(layout.versions, `${version}.partial`);
      await sh(conn, 'rm -rf "$1" && mkdir -p "$1"', [partial], 'upload', machine);
      const files = [
        { path: 'node', data: node, sha256: nodeSha },
        ...manifest.files.map((f) => ({
          path: f.path,
          data: readFileSync(join(bundleDir, f.path)),
          sha256: f.sha256,
        })),
      ];
      for (const f of files) {
        step('upload', `${f.path} (${f.data.length} bytes)`);
        const r = await conn.exec(
          ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', join(partial, f.path)],
          { stdin: f.data, timeoutMs: 600_000 },
        );
        if (r.code !== 0)
          throw failed(
            machine,
            'upload',
            `${f.path}: ${r.stderr.trim()}`,
            `check free space and permissions under ${townPath} on ${machine}`,
          );
        uploadedBytes += f.data.length;
      }
      step('verify', `${files.length} files`);
      const sums = await sh(
        conn,
        'cd "$1" && shift && sha256sum -- "$@"',
        [partial, ...files.map((f) => f.path)],
        'verify',
        machine,
      );
      const got = new Map(
        sums
          .trim()
          .split('\n')
          .map((l) => {
            const [h, ...p] = l.split('  ');
            return [p.join('  '), h];
          }),
      );
      const bad = files.filter((f) => got.get(f.path) !== f.sha256).map((f) => f.path);
      if (bad.length > 0)
        throw failed(
          machine,
          'verify',
          `checksum mismatch for ${bad.join(', ')}`,
          `run \`gt machine provision ${machine}\` again`,
        );
      await sh(
        conn,
        'chmod 755 "$1/node" && echo "$3" > "$1/.complete" && rm -rf "$2" && mv "$1" "$2"',
        [partial, join(layout.versions, version), version],
        'verify',
        machine,
      );
    }
    step('config', `${layout.gtDir}/agent.json`);
    const config = JSON.stringify(
      { machine, town_path: townPath, version, gt_version: GT_VERSION },
      null,
      2,
    );
    await conn.exec(
      ['sh', '-c', 'cat > "$1.tmp" && mv "$1.tmp" "$1"', 'sh', join(layout.gtDir, 'agent.json')],
      { stdin: `${config}\n` },
    );
    await conn.exec(
      [
        'sh',
        '-c',
        'cat > "$1.tmp" && chmod 755 "$1.tmp" && mv "$1.tmp" "$1"',
        'sh',
        join(layout.gtDir, 'supervisor.sh'),
      ],
      { stdin: SUPERVISOR },
    );
    step('switch', version);
    await sh(conn, SWITCH, [townPath, version], 'switch', machine);
    step('start', 'restart-loop supervisor');
    await restartAgent(conn, townPath, machine);
  } catch (err) {
    await conn
      .exec(['rm', '-rf', join(layout.versions, `${version}.partial`)])
      .catch(() => undefined);
    if (err instanceof GtError) throw err;
    throw failed(
      machine,
      'install',
      errorMessage(err),
      `run \`gt machine provision ${machine}\` again`,
      err,
    );
  } finally {
    await conn.exec(['rm', '-rf', join(layout.gtDir, 'provision.lock')]).catch(() => undefined);
  }
  return {
    changed: true,
    version,
    previous: platform.current,
    platform,
    supervisor: 'restart-loop',
    uploadedBytes,
  };
}

/** Stop the agent and its supervisor (if running) and start them again from .gt/current. */
export async function restartAgent(
  conn: SshConnection,
  townPath: string,
  machine: string,
): Promise<void> {
  await sh(conn, STOP, [townPath], 'stop', machine);
  await sh(conn, START, [townPath, machine], 'start', machine);
}

/** Point .gt/current back at `version` and restart (after a failed handshake). */
export async function switchBack(
  conn: SshConnection,
  townPath: string,
  machine: string,
  version: string,
): Promise<void> {
  await sh(conn, SWITCH, [townPath, version], 'switch back', machine);
  await restartAgent(conn, townPath, machine);
}
