/** gt witness patrol / swarm start|status|list|cancel (plugins: ./plugins.ts). */
import {
  GtError,
  SwarmInfoSchema,
  SwarmStatusResponseSchema,
  WitnessPatrolResponseSchema,
  type SwarmInfo,
} from '../../proto/index.js';
import { messageJson, out, printJson, table } from '../output.js';
import { optionsOf, withCoordinator } from './context.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => {
  const n = Number(v ?? 0);
  if (!Number.isInteger(n) || n < 0) throw new GtError('GT_USAGE', `"${String(v)}" is not a count`);
  return n;
};

export async function patrol(...args: unknown[]): Promise<void> {
  const [rig] = args as [string];
  const opts = optionsOf(args);
  if (opts.once !== true)
    throw new GtError('GT_USAGE', 'gt witness patrol runs one patrol: pass --once', {
      hint: "the patrol loop runs under the town daemon (`gt up`) and in each worker machine's node agent",
    });
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.witnessPatrol({ rig });
    if (opts.json === true) return printJson(messageJson(WitnessPatrolResponseSchema, r));
    out(`patrol of ${r.rig}: ${r.polecats} polecat(s), ${r.actions.length} action(s)`);
    if (r.actions.length > 0)
      out(
        table(
          ['AGENT', 'ACTION', 'DETAIL'],
          r.actions.map((a) => [a.address, a.kind, a.detail]),
        ),
      );
  });
}

/** A progress bar on a TTY; plain counts when piped (nothing but data on stdout). */
function bar(done: number, total: number): string {
  if (process.stdout.isTTY !== true) return `${done}/${total} settled`;
  const width = 20;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

function printSwarm(s: SwarmInfo): void {
  out(`swarm ${s.id} on ${s.rig}: ${s.state} ${bar(s.settled, s.issues.length)}`);
  out(
    table(
      ['ISSUE', 'POLECAT', 'MACHINE', 'STATE', 'SESSION', 'BEADS', 'MERGE', 'NOTE'],
      s.issues.map((i) => [
        i.issue,
        i.address,
        i.machine,
        i.polecatState,
        i.polecat === '' ? '' : i.sessionAlive ? 'alive' : 'gone',
        i.beadsStatus,
        i.mergeState,
        i.error !== ''
          ? i.error
          : i.escalated
            ? 'escalated'
            : i.polecat === ''
              ? 'waiting for a machine'
              : '',
      ]),
    ),
  );
  for (const note of s.notes) out(`note: ${note}`);
}

const list = (v: unknown): string[] =>
  str(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

export async function swarmStart(...args: unknown[]): Promise<void> {
  const [rig] = args as [string];
  const opts = optionsOf(args);
  const issues = list(opts.issues);
  const req = {
    rig,
    issues,
    ready: num(opts.ready),
    max: num(opts.max),
    agent: str(opts.agent),
    machines: list(opts.machines),
    labels: ((opts.label as string[] | undefined) ?? []).flatMap(list),
    maxPerMachine: num(opts.maxPerMachine),
    byRoom: false,
  };
  const grow =
    opts.grow === undefined && opts.maxMachines === undefined && opts.shrinkAfter === undefined
      ? undefined
      : await import('./swarm-grow.js');
  const g = grow?.readGrow(opts);
  if (g !== undefined) {
    const { startElasticSwarm } = await import('./swarm-elastic-start.js');
    const s = await startElasticSwarm(opts, g, req);
    if (opts.json === true) return printJson(messageJson(SwarmInfoSchema, s));
    return printSwarm(s);
  }
  await withCoordinator(opts, async ({ client }) => {
    const s = await client.startSwarm(req);
    if (opts.json === true) return printJson(messageJson(SwarmInfoSchema, s));
    printSwarm(s);
  });
}

export async function swarmStatus(...args: unknown[]): Promise<void> {
  const [id] = args as [string | undefined];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }, townRoot) => {
    const r = await client.listSwarms({ id: id ?? '', rig: str(opts.rig) });
    const { growingLines, machineMinutesLine } = await import('./swarm-growing.js');
    for (const s of r.swarms) {
      const line = await machineMinutesLine(townRoot, s.id);
      if (line !== undefined) s.notes.push(line);
    }
    if (opts.json === true) return printJson(messageJson(SwarmStatusResponseSchema, r));
    const growing = growingLines(townRoot);
    for (const line of growing) out(line);
    const shown = id === undefined ? r.swarms.filter((s) => s.state === 'active') : r.swarms;
    if (shown.length === 0 && growing.length === 0)
      return out('No active swarms: `gt swarm start <rig> --ready <n>`.');
    for (const s of shown) printSwarm(s);
  });
}

export async function swarmList(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.listSwarms({ id: '', rig: str(opts.rig) });
    if (opts.json === true) return printJson(messageJson(SwarmStatusResponseSchema, r));
    if (r.swarms.length === 0) return out('No swarms yet: `gt swarm start <rig> --ready <n>`.');
    out(
      table(
        ['ID', 'RIG', 'STATE', 'SETTLED', 'CREATED'],
        r.swarms.map((s) => [s.id, s.rig, s.state, `${s.settled}/${s.issues.length}`, s.createdAt]),
      ),
    );
  });
}

export async function swarmCancel(...args: unknown[]): Promise<void> {
  const [id] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const s = await client.cancelSwarm({ id });
    if (opts.json === true) return printJson(messageJson(SwarmInfoSchema, s));
    out(`cancelled swarm ${s.id}: sessions stopped, claims released`);
    printSwarm(s);
  });
}
