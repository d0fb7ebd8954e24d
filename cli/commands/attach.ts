/**
 * `gt attach [machine:]<address>`: an interactive terminal on an agent's tmux session, wherever
 * it runs. On this machine: `tmux attach` on the town's socket. On an ssh machine: the same
 * command on a pseudo-terminal of the machine's own SSH connection (host key verified as for
 * every connection). Detaching (tmux's prefix, then d) leaves the agent running.
 */
import { spawnSync } from 'node:child_process';
import { join, posix } from 'node:path';
import { GtError, parseAddress, formatAddress, type Address } from '../../proto/index.js';
import { err } from '../output.js';
import { optionsOf, withCoordinator } from './context.js';
import { agentAddress } from './sessions.js';

interface Target {
  machine: string;
  session: string;
  address: string;
  townRoot: string;
}

function needsTerminal(): void {
  if (process.stdin.isTTY !== true || process.stdout.isTTY !== true)
    throw new GtError('GT_USAGE', 'gt attach needs a terminal (stdin and stdout are not one)', {
      hint: 'run it in a terminal; to read the pane from a script use `gt capture <agent>`',
    });
}

export async function attach(...args: unknown[]): Promise<void> {
  const [input] = args as [string];
  const opts = optionsOf(args);
  const parsed = parseAddress(agentAddress(input));
  if (parsed.role === 'overseer')
    throw new GtError('GT_USAGE', 'the overseer is a human: it has no session', {
      hint: 'attach to an agent: mayor, <rig>/witness, <rig>/refinery or <rig>/<polecat>',
    });
  const { machine: explicit, ...rest } = parsed;
  const address = formatAddress(rest as Address);
  const target = await withCoordinator(opts, async ({ client }, townRoot) => {
    const status = await client.getStatus({});
    const agents =
      rest.rig === undefined
        ? status.mayor === undefined
          ? []
          : [{ agent: status.mayor, machine: 'local' }]
        : status.rigs
            .filter((r) => r.rig?.name === rest.rig)
            .flatMap((r) => r.agents.map((a) => ({ agent: a, machine: r.rig?.machine ?? '' })));
    const found = agents.find((a) => a.agent.address === address);
    if (found === undefined) {
      const down = status.machines.filter((m) => m.state !== 'connected').map((m) => m.name);
      throw new GtError('GT_AGENT_NOT_FOUND', `no agent ${address} in the town`, {
        hint:
          down.length > 0
            ? `machines that did not answer: ${down.join(', ')}; see \`gt machine list\``
            : rest.rig === undefined
              ? 'see `gt status`'
              : `list the rig's agents with \`gt polecats ${rest.rig}\``,
      });
    }
    const machine = found.machine === '' ? 'local' : found.machine;
    if (explicit !== undefined && explicit !== machine)
      throw new GtError(
        'GT_INVALID_ADDRESS',
        `"${input}" names machine "${explicit}", but ${address} runs on machine "${machine}"`,
        { hint: `gt attach ${machine}:${address}` },
      );
    if (!found.agent.sessionAlive || found.agent.session === '')
      throw new GtError(
        'GT_AGENT_NOT_FOUND',
        `${address} has no live session (${found.agent.state})`,
        {
          hint: `start it again with \`gt wake ${address}\`, or look at \`gt polecats ${rest.rig ?? ''}\``,
        },
      );
    return { machine, session: found.agent.session, address, townRoot };
  });
  needsTerminal();
  err(
    `attaching to ${target.address} (session ${target.session} on ${target.machine}); detach with the tmux prefix (Ctrl-b), then d`,
  );
  if (target.machine === 'local')
    return attachLocal(target, join(target.townRoot, 'run', 'tmux.sock'));
  return attachRemote(target);
}

function attachLocal(target: Target, socket: string): void {
  const r = spawnSync('tmux', ['-S', socket, 'attach-session', '-t', `=${target.session}`], {
    stdio: 'inherit',
  });
  if (r.error !== undefined)
    throw new GtError('GT_TMUX_FAILED', `could not run tmux: ${r.error.message}`, {
      hint: 'install tmux (it runs every agent session)',
    });
  process.exitCode = r.status ?? 1;
}

async function attachRemote(target: Target): Promise<void> {
  const { townRoot } = target;
  const { readFederation, loadSsh } = await import('../../coordinator/index.js');
  const machine = (await readFederation(townRoot)).machines[target.machine];
  if (machine === undefined || machine.type !== 'ssh')
    throw new GtError(
      'GT_NOT_IMPLEMENTED',
      `gt attach reaches ssh machines; ${target.machine} is ${machine?.type ?? 'not in config/federation.json'}`,
      { hint: `look at the pane with \`gt capture ${target.machine}:${target.address}\`` },
    );
  const ssh = await loadSsh();
  const conn = await ssh.SshConnection.connect({
    target: ssh.sshTargetOf(target.machine, machine),
    townRoot,
    holdSession: false,
  });
  try {
    const socket = posix.join(machine.town_path, 'run', 'tmux.sock');
    const channel = await conn.openPty(
      ['tmux', '-u', '-S', socket, 'attach-session', '-t', `=${target.session}`],
      {
        rows: process.stdout.rows ?? 24,
        cols: process.stdout.columns ?? 80,
        ...(process.env.TERM === undefined ? {} : { term: process.env.TERM }),
      },
    );
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    const onResize = (): void =>
      channel.setWindow(process.stdout.rows, process.stdout.columns, 0, 0);
    process.stdout.on('resize', onResize);
    stdin.pipe(channel);
    channel.pipe(process.stdout);
    channel.stderr.pipe(process.stderr);
    const code = await new Promise<number>((resolve) => {
      channel.once('exit', (c: number | null) => resolve(c ?? 1));
      channel.once('close', () => resolve(0));
    });
    stdin.unpipe(channel);
    stdin.setRawMode(false);
    stdin.pause();
    process.stdout.off('resize', onResize);
    process.exitCode = code;
  } finally {
    await conn.close();
  }
}
