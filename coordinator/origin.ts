/**
 * Ask a machine whether it can reach a rig's origin and push to it (NodeAgent.CheckOrigin), for
 * spawn and swarm placement on machines other than the rig's home. A refusal becomes
 * GT_ORIGIN_UNREACHABLE with the machine's own detail and hint (they name the machine, the URL
 * and the fix); a machine that does not answer is the registry's usual error.
 */
import { GtError } from '../proto/index.js';
import { askMachine } from './fan-out.js';
import type { MachineRegistry } from './machines.js';

export interface OriginAnswer {
  reachable: boolean;
  pushable: boolean;
  detail: string;
  hint: string;
}

export interface CheckOriginOnOptions {
  signal?: AbortSignal | undefined;
  /** The whole question's limit (the machine's git calls have 20 s each; default 60 s). */
  timeoutMs?: number | undefined;
}

/** CheckOrigin on `machine` for `url` (the rig's git_url). */
export function checkOriginOn(
  registry: MachineRegistry,
  machine: string,
  url: string,
  options: CheckOriginOnOptions = {},
): Promise<OriginAnswer> {
  return askMachine(registry, machine, (c, signal) => c.checkOrigin({ url }, { signal }), {
    timeoutMs: options.timeoutMs ?? 60_000,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/** Throw GT_ORIGIN_UNREACHABLE unless `machine` reaches `url` and may push to it. */
export async function requireOriginOn(
  registry: MachineRegistry,
  machine: string,
  url: string,
  options: CheckOriginOnOptions = {},
): Promise<OriginAnswer> {
  const answer = await checkOriginOn(registry, machine, url, options);
  if (answer.reachable && answer.pushable) return answer;
  throw new GtError('GT_ORIGIN_UNREACHABLE', answer.detail, {
    hint: answer.hint,
    details: { machine, url, reachable: answer.reachable, pushable: answer.pushable },
  });
}
