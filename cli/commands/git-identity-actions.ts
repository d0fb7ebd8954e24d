/** Actions of `gt git-identity set | show | remove` (see git-identity.ts). */
import { existsSync, mkdirSync, chmodSync, readFileSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadSsh, readFederation, type SshModule } from '../../coordinator/index.js';
import { gitIdentityPaths, identitySshCommand } from '../../node-agent/index.js';
import { GtError, errorMessage, withFileLock, writeFileAtomic } from '../../proto/index.js';
import { color, out, printJson } from '../output.js';
import { resolveTownRoot } from '../town-root.js';
import { optionsOf } from './context.js';

function usage(message: string, hint: string): GtError {
  return new GtError('GT_USAGE', message, { hint });
}

/** An owner-only, readable, unencrypted private key; returns its public fingerprint and type. */
export async function checkGitKey(file: string): Promise<{ fingerprint: string; type: string }> {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile())
    throw usage(
      `key file ${path} does not exist`,
      'give the private key file, e.g. ~/.ssh/deploy_ed25519',
    );
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw usage(
      `key file ${path} can be read by others (mode ${mode.toString(8).padStart(4, '0')}); a private key must be owner-only`,
      `run \`chmod 600 ${path}\` and try again`,
    );
  const { utils } = (await import('ssh2')).default;
  const { fingerprint } = await loadSsh();
  const parsed = utils.parseKey(readFileSync(path));
  if (parsed instanceof Error || !parsed.isPrivateKey()) {
    const why = parsed instanceof Error ? parsed.message : 'it is a public key';
    throw usage(
      `key file ${path} is not a usable private key (${why})`,
      /encrypted|passphrase/i.test(why)
        ? 'node agents cannot type a passphrase: give a key without one (e.g. a deploy key made for the town)'
        : 'give the private key (not the .pub file)',
    );
  }
  return { fingerprint: fingerprint(parsed.getPublicSSH()), type: parsed.type };
}

/** known_hosts text with at least one `host keytype base64` line; returns the hosts. */
export function checkKnownHosts(file: string): { text: string; hosts: string[] } {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile())
    throw usage(
      `known_hosts file ${path} does not exist`,
      "give the origin servers' host keys, e.g. `ssh-keyscan -t ed25519 git.example.com > origin_known_hosts` (check the fingerprints)",
    );
  const text = readFileSync(path, 'utf8');
  const hosts: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(@\S+\s+)?(\S+)\s+(\S+)\s+([A-Za-z0-9+/]+={0,3})(\s.*)?$/.exec(line);
    if (m === null)
      throw usage(
        `${path}:${i + 1} is not a known_hosts line`,
        'write each line as `host keytype base64-key`, as ssh-keyscan prints them',
      );
    hosts.push(`${m[2] ?? ''} ${m[3] ?? ''}`);
  });
  if (hosts.length === 0)
    throw usage(
      `${path} holds no host key`,
      "add the origin servers' host keys (ssh-keyscan prints them)",
    );
  return { text: text.endsWith('\n') ? text : `${text}\n`, hosts };
}

interface MachineOutcome {
  name: string;
  ok: boolean;
  result: string;
  error?: string;
  hint?: string;
}

/** Copy (or remove) the identity on every ssh machine, in parallel, each within its own time. */
async function syncAll(
  townRoot: string,
  remove: boolean,
  local: string,
): Promise<MachineOutcome[]> {
  const fed = await readFederation(townRoot);
  const entries = Object.entries(fed.machines);
  if (entries.every(([, m]) => m.type === 'local'))
    return [{ name: 'local', ok: true, result: local }];
  const ssh: SshModule = await loadSsh();
  const files = remove ? undefined : ssh.readGitIdentity(townRoot);
  return Promise.all(
    entries.map(async ([name, m]): Promise<MachineOutcome> => {
      if (m.type === 'local') return { name, ok: true, result: local };
      const fix = `run \`gt machine provision ${name}\` when it answers (provisioning copies the town's git identity)`;
      if (m.type !== 'ssh')
        return { name, ok: false, result: 'not updated', error: `a ${m.type} machine`, hint: fix };
      let conn: Awaited<ReturnType<SshModule['SshConnection']['connect']>> | undefined;
      try {
        conn = await ssh.SshConnection.connect({
          target: ssh.sshTargetOf(name, m),
          townRoot,
          readyTimeoutMs: 10_000,
        });
        const result = await ssh.syncGitIdentity(conn, name, m.town_path, files, 15_000);
        return { name, ok: true, result };
      } catch (e) {
        return { name, ok: false, result: 'not updated', error: errorMessage(e), hint: fix };
      } finally {
        await conn?.close().catch(() => undefined);
      }
    }),
  );
}

function report(outcomes: MachineOutcome[], json: boolean, head: Record<string, unknown>): void {
  if (json) printJson({ ...head, machines: outcomes });
  else
    for (const o of outcomes) {
      out(`  ${o.name}: ${o.ok ? o.result : `${color.red(o.result)}: ${o.error ?? ''}`}`);
      if (!o.ok && o.hint !== undefined) out(`    hint: ${o.hint}`);
    }
  if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
}

export async function gitIdentitySet(...args: unknown[]): Promise<void> {
  const [file] = args as [string];
  const opts = optionsOf(args);
  const key = await checkGitKey(file);
  const known = checkKnownHosts(String(opts.knownHosts));
  const townRoot = resolveTownRoot(opts.town);
  const paths = gitIdentityPaths(townRoot);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  chmodSync(paths.dir, 0o700);
  await withFileLock(paths.key, async () => {
    // known_hosts first: the key's presence is what turns the identity on.
    await writeFileAtomic(paths.knownHosts, known.text, 0o644);
    await writeFileAtomic(paths.key, readFileSync(resolve(file)), 0o600);
  });
  const json = opts.json === true;
  if (!json) {
    out(`git identity set: ${key.type} ${key.fingerprint}; trusted hosts: ${known.hosts.length}`);
    out('machines:');
  }
  report(await syncAll(townRoot, false, 'in place'), json, {
    fingerprint: key.fingerprint,
    key_type: key.type,
    known_hosts: known.hosts,
  });
}

export async function gitIdentityShow(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  const townRoot = resolveTownRoot(opts.town);
  const paths = gitIdentityPaths(townRoot);
  if (!existsSync(paths.key)) {
    if (opts.json === true) printJson({ set: false });
    else
      out(
        "no git identity: git on each machine uses that machine's own ssh setup (set one with `gt git-identity set KEY --known-hosts FILE`)",
      );
    return;
  }
  const key = await checkGitKey(paths.key);
  const hosts = existsSync(paths.knownHosts) ? checkKnownHosts(paths.knownHosts).hosts : [];
  const sshCommand = identitySshCommand(paths);
  if (opts.json === true) {
    printJson({
      set: true,
      fingerprint: key.fingerprint,
      key_type: key.type,
      key: paths.key,
      known_hosts: hosts,
      ssh_command: sshCommand,
    });
    return;
  }
  out(`key:         ${paths.key} (${key.type} ${key.fingerprint})`);
  out(`known hosts: ${paths.knownHosts}`);
  for (const h of hosts) out(`  ${h}`);
  out(`git runs:    ${sshCommand}`);
  out("(the same files sit under each machine's town path; every clone has it as core.sshCommand)");
}

export async function gitIdentityRemove(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  const townRoot = resolveTownRoot(opts.town);
  const paths = gitIdentityPaths(townRoot);
  const had = existsSync(paths.key);
  if (existsSync(paths.dir))
    await withFileLock(paths.key, async () => {
      rmSync(paths.key, { force: true });
      rmSync(paths.knownHosts, { force: true });
    });
  const json = opts.json === true;
  if (!json) {
    out(had ? 'git identity removed' : 'no git identity was set');
    out('machines:');
  }
  report(await syncAll(townRoot, true, had ? 'removed' : 'nothing to remove'), json, {
    removed: had,
  });
}
