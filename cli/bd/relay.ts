// `bd --rig NAME …`, and bd in a session on a worker machine whose rig's DB is elsewhere: the
// coordinator routes the arguments to the rig's home machine (RunBeads), whose node agent runs bd
// there; the output and exit code are bd's own. This module is all a relaying bd loads: in a
// session (GT_AGENT_SOCKET) the one call goes to the node agent's socket through the light unary
// client (proto/unix-unary.ts), without grpc-js, protobuf descriptors or bd's own commands;
// `bd --rig` on the Overseer's machine goes through the coordinator session as gt does.
import { existsSync, readFileSync } from 'node:fs';
import {
  GtError,
  RUN_BEADS_PATH,
  decodeRunBeadsResponse,
  encodeRunBeadsRequest,
  unixUnary,
  type RunBeadsAnswer,
  type RunBeadsCall,
} from '../../proto/index.js';
import { agentSocketMissing } from '../agent-relay.js';

/** Take the first `--rig NAME` / `--rig=NAME` (before a `--`) out of bd's arguments. */
export function takeRig(args: string[]): { rig: string | undefined; rest: string[] } {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') break;
    if (a.startsWith('--rig=')) {
      return { rig: a.slice('--rig='.length), rest: [...args.slice(0, i), ...args.slice(i + 1)] };
    }
    if (a === '--rig') {
      const rig = args[i + 1];
      if (rig === undefined || rig.startsWith('-'))
        throw new GtError('GT_USAGE', '--rig needs a rig name', {
          hint: 'bd --rig <rig> <command> …, e.g. bd --rig wyvern ready',
        });
      return { rig, rest: [...args.slice(0, i), ...args.slice(i + 2)] };
    }
  }
  return { rig: undefined, rest: args };
}

export interface RelayOptions {
  rig: string;
  args: string[];
  actor: string;
}

/**
 * Where bd runs: relayed (the rig and bd's arguments) when `--rig` is given or when this is a
 * session on a worker machine whose rig's DB is not here; undefined: bd runs on a local DB.
 */
export function relayTarget(
  args: string[],
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
): { rig: string; args: string[] } | undefined {
  if (args.some((a) => a === '--rig' || a.startsWith('--rig='))) {
    const { rig, rest } = takeRig(args);
    if (rig !== undefined) return { rig, args: rest };
  }
  const { BEADS_DIR: beadsDir, GT_RIG: rig, GT_AGENT_SOCKET: socket } = env;
  if (beadsDir && rig && socket && !exists(beadsDir)) return { rig, args };
  return undefined;
}

/** Run bd on the rig's home machine; returns bd's exit code after writing its output. */
export async function relayBeads(options: RelayOptions): Promise<number> {
  if (options.rig === '')
    throw new GtError('GT_USAGE', '--rig needs a rig name', { hint: 'see `gt rigs`' });
  const call: RunBeadsCall = {
    rig: options.rig,
    args: options.args,
    actor: options.actor,
    // `bd import -` reads stdin: it is sent along (the other commands read none).
    stdin: options.args.includes('-') ? readFileSync(0) : Buffer.alloc(0),
  };
  const socket = process.env.GT_AGENT_SOCKET;
  const res =
    socket !== undefined && socket !== '' ? await onAgent(socket, call) : await viaSession(call);
  process.stdout.write(res.stdout);
  process.stderr.write(res.stderr);
  return res.exitCode;
}

/** A session on a worker machine: one call on the node agent's relay socket. */
async function onAgent(socket: string, call: RunBeadsCall): Promise<RunBeadsAnswer> {
  if (!existsSync(socket)) throw agentSocketMissing(socket);
  const bytes = await unixUnary({
    socketPath: socket,
    path: RUN_BEADS_PATH,
    request: encodeRunBeadsRequest(call),
  });
  return decodeRunBeadsResponse(bytes);
}

/** Elsewhere (the Overseer's machine): through the coordinator, daemon or embedded. */
async function viaSession(call: RunBeadsCall): Promise<RunBeadsAnswer> {
  return (await import('../bd-full.js')).runBeadsViaCoordinator(call);
}
