import { resolve } from 'node:path';
import {
  PrimeContextSchema,
  TownInfoSchema,
  TownStatusSchema,
  type AgentStatus,
  type TownStatus,
} from '../../proto/index.js';
import { color, messageJson, out, printJson, table } from '../output.js';
import { openEmbedded } from '../session.js';
import { optionsOf, townPathHere, withCoordinator } from './context.js';

export async function install(...args: unknown[]): Promise<void> {
  const path = args[0] as string;
  const opts = optionsOf(args);
  const root = resolve(path);
  // The town does not exist yet: no daemon can be serving it, so host in-process.
  const session = await openEmbedded(root);
  try {
    const town = await session.client.installTown({
      root,
      name: (opts.name as string | undefined) ?? '',
      force: opts.force === true,
    });
    if (opts.json === true) return printJson(messageJson(TownInfoSchema, town));
    out(`installed town "${town.name}" at ${town.root}`);
    out(`next: cd ${town.root} && gt rig add <name> <git_url>`);
  } finally {
    await session.close();
  }
}

function agentRow(a: AgentStatus): string[] {
  const state =
    a.problem !== ''
      ? color.red('invalid')
      : a.waitingFor !== ''
        ? `${a.state} (${color.red(`waiting for input: ${a.waitingFor}`)})`
        : a.state;
  return [
    a.address,
    a.role,
    state,
    a.issue,
    a.sessionAlive ? 'alive' : a.session === '' ? '' : 'gone',
    a.updatedAt,
    a.problem,
  ];
}

/** One line on the town's tmux server, with what a dead one left behind. */
function tmuxLine(status: TownStatus): string {
  const t = status.tmux;
  if (t === undefined) return 'tmux: unknown';
  const agents = [status.mayor, ...status.rigs.flatMap((r) => r.agents)];
  // A hung server's sessions are unknown, not gone.
  const orphans =
    t.state === 'unresponsive'
      ? 0
      : agents.filter((a) => a?.state === 'working' && !a.sessionAlive).length;
  const state =
    t.state === 'running'
      ? `running, ${t.sessions} session(s)`
      : t.state === 'stale'
        ? `down (nothing answers on ${t.socket})`
        : t.state === 'unresponsive'
          ? color.red(`not answering on ${t.socket}${t.detail === '' ? '' : ` (${t.detail})`}`)
          : 'not running';
  const warn =
    orphans === 0
      ? ''
      : color.red(`; ${orphans} agent(s) say working with no session: run \`gt doctor\``);
  return `tmux: ${state}${warn}`;
}

/** Machine states whose rigs are missing from a status. */
const NOT_ANSWERING = new Set(['unreachable', 'refused', 'disconnected', 'lost']);

export function renderStatus(status: TownStatus, mode: string): string {
  const lines: string[] = [];
  lines.push(
    `${color.bold('Town')} ${status.town?.name ?? '?'}  ${color.dim(status.town?.root ?? '')}  ${color.dim(`(${mode})`)}`,
  );
  lines.push(
    `Machines: ${status.machines.map((m) => `${m.name} [${m.type}, ${m.state}]`).join(', ')}`,
  );
  // A machine that did not answer: its rigs are missing below; say why (and since when, for a
  // machine the heartbeat watch says is disconnected or lost), in red.
  for (const m of status.machines.filter((x) => NOT_ANSWERING.has(x.state)))
    lines.push(
      color.red(
        `  ${m.name} ${m.state}: ${m.detail.replace(/^(disconnected|lost): /, '')} (its rigs are not shown)`,
      ),
    );
  lines.push(tmuxLine(status));
  const headers = ['ADDRESS', 'ROLE', 'STATE', 'ISSUE', 'SESSION', 'UPDATED', 'PROBLEM'];
  if (status.mayor !== undefined) lines.push('', table(headers, [agentRow(status.mayor)]));
  if (status.rigs.length === 0)
    lines.push('', 'No rigs yet: add one with `gt rig add <name> <git_url>`.');
  for (const rig of status.rigs) {
    lines.push(
      '',
      `${color.bold('Rig')} ${rig.rig?.name ?? '?'}  ${color.dim(rig.rig?.gitUrl ?? '')}  prefix ${rig.rig?.prefix ?? ''}  machine ${rig.rig?.machine || 'local'}`,
    );
    lines.push(table(headers, rig.agents.map(agentRow)));
  }
  return lines.join('\n');
}

interface OpenEscalation {
  id: string;
  from: string;
  subject: string;
  created_at: string;
}

/** Escalations the Mayor has not handled: unread `escalation` mail in its inbox. */
function renderEscalations(open: OpenEscalation[]): string {
  if (open.length === 0) return '';
  const rows = open.map((e) => [e.created_at, e.from, e.subject]);
  return `\n${color.bold('Escalations')} (${open.length} unhandled in the Mayor's inbox; \`gt inbox --as mayor\`)\n${table(['AT', 'FROM', 'SUBJECT'], rows)}`;
}

export async function status(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client, mode }) => {
    const st = await client.getStatus({});
    const mail = await client
      .listMail({ address: 'mayor', unreadOnly: true })
      .catch(() => ({ messages: [] }));
    const escalations: OpenEscalation[] = mail.messages
      .filter((m) => m.type === 'escalation')
      .map((m) => ({ id: m.id, from: m.from, subject: m.subject, created_at: m.createdAt }));
    if (opts.json === true)
      return printJson({ ...(messageJson(TownStatusSchema, st) as object), escalations });
    out(renderStatus(st, mode) + renderEscalations(escalations));
  });
}

export async function prime(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const ctx = await client.prime({ townPath: townPathHere(opts) });
    if (opts.json === true) return printJson(messageJson(PrimeContextSchema, ctx));
    out(ctx.text);
  });
}
