// What every bd command needs: the beads dir (BEADS_DIR, else walk up to the git root), the actor
// (BD_ACTOR, else $USER) and whether to print JSON. Built once in bd.ts from env and flags.
import { currentScope } from './io.js';
import { GtError, findBeadsDir, openBeads, type BeadsStore } from './lib.js';

export interface BdContext {
  cwd: string;
  beadsDirEnv: string | undefined;
  actor: string;
  json: boolean;
  /** Explicit --db path (a beads.db or its directory). */
  db?: string;
}

export interface GlobalFlags {
  json?: boolean;
  db?: string;
  actor?: string;
}

let processContext: BdContext | undefined;

/** The context of this call: its scope's (bd run inside a node agent), else the process's. */
export function setContext(context: BdContext): void {
  const scope = currentScope();
  if (scope === undefined) processContext = context;
  else scope.context = context;
}

export function context(flags: GlobalFlags = {}): BdContext {
  const scope = currentScope();
  const current = scope === undefined ? processContext : (scope.context as BdContext | undefined);
  if (current === undefined) throw new Error('bd context not set');
  return {
    ...current,
    json: current.json || flags.json === true,
    actor: flags.actor ?? current.actor,
    ...(flags.db === undefined ? {} : { db: flags.db }),
  };
}

export function beadsDirOf(ctx: BdContext): string {
  if (ctx.db !== undefined) return ctx.db.endsWith('.db') ? ctx.db.replace(/\/[^/]*$/, '') : ctx.db;
  const dir = findBeadsDir({ cwd: ctx.cwd, beadsDirEnv: ctx.beadsDirEnv });
  if (dir === undefined) {
    throw new GtError('GT_BEADS', `no .beads directory found from ${ctx.cwd} up to the git root`, {
      hint: 'run `bd init --prefix <prefix>`, or set BEADS_DIR to a rig’s .beads directory',
    });
  }
  return dir;
}

/** Open the store, run `fn`, always close. */
export function withStore<T>(ctx: BdContext, fn: (store: BeadsStore) => T): T {
  const store = openBeads(beadsDirOf(ctx), ctx.actor);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

export async function withStoreAsync<T>(
  ctx: BdContext,
  fn: (store: BeadsStore) => Promise<T>,
): Promise<T> {
  const store = openBeads(beadsDirOf(ctx), ctx.actor);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}
