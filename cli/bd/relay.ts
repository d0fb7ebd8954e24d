// `bd --rig NAME …`: bd against a rig's beads database wherever the rig is homed. The coordinator
// routes the arguments to the rig's home machine (RunBeads), whose node agent runs bd there; the
// output and exit code are bd's own. Loaded only when --rig is given: plain bd stays fast.
import { readFileSync } from 'node:fs';
import { GtError } from '../../proto/index.js';

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

/** Run bd on the rig's home machine; returns bd's exit code after writing its output. */
export async function relayBeads(options: RelayOptions): Promise<number> {
  if (options.rig === '')
    throw new GtError('GT_USAGE', '--rig needs a rig name', { hint: 'see `gt rigs`' });
  const [{ resolveTownRoot }, { openCoordinator }] = await Promise.all([
    import('../town-root.js'),
    import('../session.js'),
  ]);
  // `bd import -` reads stdin: it is sent along (the other commands read none).
  const stdin = options.args.includes('-') ? readFileSync(0) : Buffer.alloc(0);
  const session = await openCoordinator({ townRoot: resolveTownRoot(undefined) });
  try {
    const res = await session.client.runBeads({
      rig: options.rig,
      args: options.args,
      actor: options.actor,
      stdin,
    });
    process.stdout.write(res.stdout);
    process.stderr.write(res.stderr);
    return res.exitCode;
  } finally {
    await session.close();
  }
}
