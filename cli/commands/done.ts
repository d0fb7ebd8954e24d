/** gt done / gt handoff: run by an agent inside its session (identity from GT_ADDRESS / GT_EPOCH). */
import { DoneResponseSchema, GtError, HandoffResponseSchema } from '../../proto/index.js';
import { messageJson, out, printJson } from '../output.js';
import { optionsOf, townPathHere, withCoordinator, type CommandOptions } from './context.js';
import type { CoordinatorClient } from '../session.js';

/** --as, else GT_ADDRESS, else the polecat whose clone holds the current directory. */
async function identity(
  opts: CommandOptions,
  client: CoordinatorClient,
): Promise<{ address: string; epoch: bigint }> {
  const explicit = typeof opts.as === 'string' && opts.as !== '' ? opts.as : undefined;
  const fromEnv = process.env.GT_ADDRESS;
  const epoch =
    explicit === undefined && process.env.GT_EPOCH !== undefined
      ? BigInt(process.env.GT_EPOCH || '0')
      : 0n;
  if (explicit !== undefined) return { address: explicit, epoch };
  if (fromEnv !== undefined && fromEnv !== '') return { address: fromEnv, epoch };
  const prime = await client.prime({ townPath: townPathHere(opts) });
  if (
    prime.role !== 'polecat' &&
    prime.role !== 'witness' &&
    prime.role !== 'refinery' &&
    prime.role !== 'mayor' &&
    prime.role !== 'rig-mayor'
  )
    throw new GtError(
      'GT_USAGE',
      'who is running this? no GT_ADDRESS, and the current directory is no agent home',
      {
        hint: 'run it inside an agent session, cd into a polecat clone, or pass --as <rig>/<polecat>',
      },
    );
  return { address: prime.address, epoch };
}

export async function done(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const who = await identity(opts, client);
    const r = await client.done({ address: who.address, epoch: who.epoch });
    if (opts.json === true) return printJson(messageJson(DoneResponseSchema, r));
    out(
      `${r.address}: ${r.issue} is done; branch ${r.branch} (${r.head.slice(0, 12)}) queued for the refinery; witness notified`,
    );
  });
}

export async function handoff(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  // Run from inside the session being restarted: killing it hangs up this process's terminal.
  // Keep going (the restart must finish) and drop output that has nowhere to go.
  process.on('SIGHUP', () => undefined);
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  await withCoordinator(opts, async ({ client }) => {
    const who = await identity(opts, client);
    const note = typeof opts.message === 'string' ? opts.message : '';
    const r = await client.handoff({ address: who.address, note, epoch: who.epoch });
    if (opts.json === true) return printJson(messageJson(HandoffResponseSchema, r));
    out(
      `${r.address}: handoff note mailed to self (${r.mailId}); session ${r.session} restarted and primed`,
    );
  });
}
