/**
 * Mail from this machine's own loops (the Refinery, the Witness) to an agent that is not here: a
 * polecat running on another machine, or the Mayor when this is not the coordinator's machine.
 * A worker's node agent registers how such mail leaves (its durable outbox toward the
 * coordinator, keyed by town so several node agents in one process never share it); without a
 * registration (the coordinator's own machine, one-machine towns) there is nowhere else to send
 * it and callers keep today's behaviour.
 */
import { resolve } from 'node:path';
import type { NewMail } from './message.js';

export type AwayMail = (mail: NewMail & { id: string }) => Promise<void>;

const byTown = new Map<string, AwayMail>();

/** Register (or with `undefined`, remove) how mail for agents elsewhere leaves `townRoot`. */
export function registerAwayMail(townRoot: string, send: AwayMail | undefined): void {
  if (send === undefined) byTown.delete(resolve(townRoot));
  else byTown.set(resolve(townRoot), send);
}

/** How mail for agents elsewhere leaves `townRoot`, when this machine can send it. */
export function awayMailOf(townRoot: string): AwayMail | undefined {
  return byTown.get(resolve(townRoot));
}
