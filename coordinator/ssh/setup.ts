/**
 * Provision a machine end to end: dial (host key verified), install and start the agent, then
 * handshake through the tunnel and check the version. When a new version does not answer the
 * handshake, the previous version is switched back in.
 */
import { join } from 'node:path';
import { GT_VERSION, GtError, PROTOCOL_VERSION, errorMessage } from '../../proto/index.js';
import type { Machine } from '../federation.js';
import type { NodeAgentClient } from '../machines.js';
import { connectSshMachine, sshLinkFor, type SshFactoryOptions } from './machine.js';
import { provision, switchBack, type ProvisionResult } from './provision.js';
import { readGitIdentity, syncGitIdentity, type GitIdentitySync } from './git-identity.js';
import type { BridgeMode } from './bridge.js';
import type { SshLink } from './link.js';

type SshMachine = Extract<Machine, { type: 'ssh' }>;

export interface ProvisionMachineOptions extends SshFactoryOptions {
  name: string;
  machine: SshMachine;
  onStep?: (step: string, detail?: string) => void;
  onBytes?: (sent: number, total: number) => void;
  bundleDir?: string;
  /** `gt machine upgrade`: refuse a machine with nothing installed; errors say "upgrading". */
  upgrade?: boolean;
  handshakeTimeoutMs?: number;
  /** The link to provision over (default: one made from `machine`); closed when done. */
  link?: SshLink;
}

export interface ProvisionMachineResult extends ProvisionResult {
  agentVersion: string;
  hostname: string;
  transport: BridgeMode | undefined;
  hostKey: { fingerprint: string; keyType: string; recorded: boolean } | undefined;
  /** The town's git identity: copied there, or (the town has none) any old copy removed. */
  gitIdentity: GitIdentitySync;
}

/** A machine's town is installed by its own agent on first provisioning (kept when it exists). */
async function installRemoteTown(
  client: NodeAgentClient,
  root: string,
  name: string,
): Promise<void> {
  try {
    await client.installTown({ root, name, force: false }, { timeoutMs: 30_000 });
  } catch (err) {
    if (!(err instanceof GtError && err.code === 'GT_TOWN_EXISTS')) throw err;
  }
}

export async function provisionMachine(
  options: ProvisionMachineOptions,
): Promise<ProvisionMachineResult> {
  const { name, machine } = options;
  const step = options.onStep ?? (() => undefined);
  const link = options.link ?? sshLinkFor(name, machine, options);
  const conn = await link.get();
  const hostKey = conn.hostKey;
  try {
    const result = await provision({
      conn,
      machine: name,
      townPath: machine.town_path,
      onStep: step,
      nodeShaCache: join(options.townRoot, 'run', 'ssh', 'node-sha256.json'),
      ...(options.onBytes === undefined ? {} : { onBytes: options.onBytes }),
      ...(options.upgrade === undefined ? {} : { upgrade: options.upgrade }),
      ...(options.bundleDir === undefined ? {} : { bundleDir: options.bundleDir }),
    });
    const verb = options.upgrade === true ? 'upgrading' : 'provisioning';
    step('handshake');
    const agent = await connectSshMachine(name, machine, { ...options, link });
    try {
      const deadline = Date.now() + (options.handshakeTimeoutMs ?? 60_000);
      let lastErr: unknown;
      for (;;) {
        try {
          const hello = await agent.client.handshake(
            { coordinatorVersion: GT_VERSION, protocolVersion: PROTOCOL_VERSION, machine: name },
            { timeoutMs: 5_000 },
          );
          if (hello.agentVersion !== result.bundleVersion) {
            throw new GtError(
              'GT_VERSION_SKEW',
              `${verb} ${name} failed at "handshake": the node agent answers as ${hello.agentVersion}; ${result.bundleVersion} was installed`,
              {
                hint: `run \`gt machine provision ${name}\` again`,
                details: { step: 'handshake' },
              },
            );
          }
          await installRemoteTown(agent.client, machine.town_path, name);
          const identity = readGitIdentity(options.townRoot);
          step('git identity', identity === undefined ? 'none set' : 'copying');
          const gitIdentity = await syncGitIdentity(
            await link.get(),
            name,
            machine.town_path,
            identity,
          ).catch((err: unknown) => {
            throw new GtError('GT_PROVISION_FAILED', errorMessage(err), {
              hint: err instanceof GtError ? err.hint : undefined,
              details: { step: 'git identity' },
            });
          });
          return {
            ...result,
            agentVersion: hello.agentVersion,
            hostname: hello.hostname,
            transport: agent.transport,
            hostKey,
            gitIdentity,
          };
        } catch (err) {
          if (err instanceof GtError && err.details?.step === 'git identity') throw err;
          lastErr = err;
          if (err instanceof GtError && err.code === 'GT_VERSION_SKEW') break;
          if (Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      let back = 'nothing else was changed';
      if (result.changed && result.previous !== undefined && result.previous !== result.version) {
        step('switch back', result.previous);
        back = await switchBack(await link.get(), machine.town_path, name, result.previous).then(
          () => `version ${result.previous} was switched back in and runs again`,
          (err: unknown) =>
            `switching back to ${result.previous} failed too (${errorMessage(err)})`,
        );
      }
      if (lastErr instanceof GtError && lastErr.code === 'GT_VERSION_SKEW')
        throw new GtError('GT_VERSION_SKEW', lastErr.message, {
          hint: `${back}; ${lastErr.hint ?? ''}`,
          details: { step: 'handshake' },
        });
      throw new GtError(
        'GT_PROVISION_FAILED',
        `${verb} ${name} failed at "handshake": the node agent did not answer (${errorMessage(lastErr)})`,
        {
          hint: `its log is ${machine.town_path}/run/node-agent.log on ${name}; ${back}`,
          cause: lastErr,
          details: { step: 'handshake' },
        },
      );
    } finally {
      await agent.close();
    }
  } finally {
    await link.close();
  }
}
