/**
 * The Coordinator service as the daemon serves it: every call that can change the town calls
 * `kick` when it ends (success or failure), so the dashboard's feed looks. Reads never kick; the
 * daemon's loops kick only when they did something.
 */
import { parseAddress, type Coordinator, type ImplOf } from '../../proto/index.js';

type Impl = ImplOf<typeof Coordinator>;

/** Calls that only read: they never kick the feed. */
const READS = new Set([
  'getInfo',
  'listRigs',
  'getStatus',
  'prime',
  'listMail',
  'listPolecats',
  'capture',
  'listMergeQueue',
  'getMergeQueueEntry',
  'listSwarms',
  'listPlugins',
  'listMachines',
  'machineStatus',
]);

/** Loop calls that usually find nothing to do kick only when they did something. */
function changedSomething(name: string, req: unknown, res: unknown): boolean {
  if (name === 'processMergeQueue' && res !== undefined)
    return ((res as { processed?: unknown[] }).processed ?? []).length > 0;
  if (name === 'witnessPatrol' && res !== undefined)
    return ((res as { actions?: unknown[] }).actions ?? []).length > 0;
  if (name === 'doctor') return (req as { fix?: boolean }).fix === true;
  // The daemon's outbox loop lists every few seconds; only a delivery changes anything.
  if (name === 'listOutbox')
    return ((res as { delivered?: unknown[] } | undefined)?.delivered ?? []).length > 0;
  return true;
}

/**
 * What a call may have changed: one rig (its polecats and merge queue; swarms and mail are
 * always looked at), or anything (undefined: a full look).
 */
export interface KickScope {
  rig?: string;
}

/** The rig a request names (`rig`, or the rig of its `address` / `to`); none: anything. */
export function scopeOf(req: unknown): KickScope {
  const r = (req ?? {}) as { rig?: unknown; address?: unknown; to?: unknown };
  if (typeof r.rig === 'string' && r.rig !== '') return { rig: r.rig };
  const address = typeof r.address === 'string' ? r.address : r.to;
  if (typeof address !== 'string' || address === '') return {};
  try {
    const parsed = parseAddress(address);
    return parsed.rig === undefined ? {} : { rig: parsed.rig };
  } catch {
    return {};
  }
}

export function watchCoordinator(impl: Impl, kick: (scope: KickScope) => void): Impl {
  const methods = impl as unknown as Record<string, (req: unknown, ctx: unknown) => unknown>;
  const watched: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(methods)) {
    if (READS.has(name)) {
      watched[name] = fn;
      continue;
    }
    watched[name] = async (req: unknown, ctx: unknown) => {
      let res: unknown;
      try {
        res = await fn.call(impl, req, ctx);
        return res;
      } finally {
        if (changedSomething(name, req, res)) kick(scopeOf(req));
      }
    };
  }
  return watched as unknown as Impl;
}
