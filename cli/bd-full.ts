// bd's heavy half, loaded by bd.ts only when it needs it: bd's commands against a local beads
// directory (commander, the beads library, SQLite), and `bd --rig` through the coordinator on
// the Overseer's machine (the coordinator session, grpc-js). A relayed bd in a session on a
// worker machine needs neither and never loads this (bd/relay.ts). Its own entry in the build
// (deploy/bundle.mjs), so that bd.js stays one small file.
import type { RunBeadsAnswer, RunBeadsCall } from '../proto/index.js';
import { resolveTownRoot } from './town-root.js';

export { runCommand } from './bd/run.js';

/** RunBeads through the coordinator (daemon or embedded), as gt reaches it. */
export async function runBeadsViaCoordinator(call: RunBeadsCall): Promise<RunBeadsAnswer> {
  const { openCoordinator } = await import('./session.js');
  const session = await openCoordinator({ townRoot: resolveTownRoot(undefined) });
  try {
    return await session.client.runBeads(call);
  } finally {
    await session.close();
  }
}
