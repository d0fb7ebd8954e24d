/** gt spawn / polecats / kill / wake / sleep / inject / capture / stop. */
import {
  AgentStatusSchema,
  ListPolecatsResponseSchema,
  SpawnResponseSchema,
  StopSessionsResponseSchema,
  GtError,
} from '../../proto/index.js';
import { err, messageJson, out, printJson, table, write } from '../output.js';
import { optionsOf, withCoordinator } from './context.js';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A polecat address given as `rig/name`, or as a bare name with $GT_RIG set. */
export function agentAddress(input: string): string {
  if (input.includes('/') || input === 'mayor') return input;
  const rig = process.env.GT_RIG;
  if (rig !== undefined && rig !== '') return `${rig}/${input}`;
  throw new GtError('GT_USAGE', `"${input}": say which rig: <rig>/${input}`, {
    hint: 'addresses look like wyvern/Nux, wyvern/witness, mayor',
  });
}

export async function spawn(...args: unknown[]): Promise<void> {
  const [rigArg] = args as [string | undefined];
  const opts = optionsOf(args);
  const rig = rigArg ?? str(process.env.GT_RIG);
  if (rig === undefined)
    throw new GtError('GT_USAGE', 'which rig? gt spawn <rig> --issue <id>', {
      hint: 'list rigs with `gt rigs`',
    });
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.spawn({
      rig,
      issue: String(opts.issue),
      name: str(opts.name) ?? '',
      agent: str(opts.agent) ?? '',
      machine: str(opts.machine) ?? '',
    });
    if (opts.json === true) return printJson(messageJson(SpawnResponseSchema, r));
    const where = r.machine === '' || r.machine === 'local' ? '' : ` on machine ${r.machine}`;
    out(
      `spawned ${r.address}${where} on ${r.issue} (branch ${r.branch}, epoch ${r.epoch}, agent ${r.agent}${r.reused ? ', reused clone' : ''})`,
    );
    out(
      `session ${r.session}; prompt delivered in ${r.totalMs} ms (clone ${r.cloneMs}, start ${r.startMs}, ready wait ${r.readyWaitMs}, typing ${r.deliverMs})`,
    );
    for (const note of r.notes) out(`note: ${note}`);
  });
}

export async function polecats(...args: unknown[]): Promise<void> {
  const [rig] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const res = await client.listPolecats({ rig });
    if (opts.json === true) return printJson(messageJson(ListPolecatsResponseSchema, res));
    if (res.polecats.length === 0)
      return out(`No polecats in ${rig} yet: \`gt spawn ${rig} --issue <id>\`.`);
    out(
      table(
        ['NAME', 'STATE', 'ISSUE', 'SESSION', 'ACTIVE', 'EPOCH', 'LAST ACTIVITY'],
        res.polecats.map((p) => {
          const s = p.status;
          return [
            s?.name ?? '',
            s?.problem !== ''
              ? 'invalid'
              : s.waitingFor !== ''
                ? `${s.state} (waiting for input: ${s.waitingFor})`
                : s.state,
            s?.issue ?? '',
            s?.sessionAlive === true ? 'alive' : s?.session === '' ? '' : 'gone',
            p.active ? 'yes' : 'no',
            String(s?.epoch ?? ''),
            s?.lastActivity ?? '',
          ];
        }),
      ),
    );
  });
}

export async function kill(...args: unknown[]): Promise<void> {
  const [target] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.killSession({ address: agentAddress(target) });
    if (opts.json === true) return printJson({ killed: r.killed, session: r.session });
    out(
      r.killed
        ? `killed session ${r.session}; state stopped`
        : `no session ${r.session} was running; state stopped`,
    );
  });
}

export async function release(...args: unknown[]): Promise<void> {
  const [target] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.releaseIssue({ address: agentAddress(target) });
    if (opts.json === true)
      return printJson({ address: r.address, issue: r.issue, released: r.released });
    out(
      r.released
        ? `${r.issue} is open again (unassigned); ${r.address} is idle, its clone kept`
        : `${r.issue} was no longer claimed by ${r.address}; ${r.address} is idle, its clone kept`,
    );
  });
}

async function setActive(args: unknown[], active: boolean): Promise<void> {
  const [target] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const s = await client.setAgentActive({ address: agentAddress(target), active });
    if (opts.json === true) return printJson(messageJson(AgentStatusSchema, s));
    out(`${s.address} is now ${active ? 'active' : 'inactive'} (state ${s.state})`);
  });
}

export const wake = (...args: unknown[]): Promise<void> => setActive(args, true);
export const sleep = (...args: unknown[]): Promise<void> => setActive(args, false);

export async function inject(...args: unknown[]): Promise<void> {
  const [target, text] = args as [string, string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.sendText({
      address: agentAddress(target),
      text,
      enter: opts.enter !== false,
    });
    if (opts.json === true) return printJson({ delivered: r.delivered });
    if (!r.delivered)
      err(
        'warning: delivery not verified (the pane did not change after Enter, or the session ended); check with `gt capture`',
      );
  });
}

export async function capture(...args: unknown[]): Promise<void> {
  const [target, command] = args as [string, string | undefined];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const r = await client.capture({
      address: agentAddress(target),
      command: command ?? '',
      lines: Number(opts.lines ?? 0),
    });
    if (opts.json === true) return printJson({ text: r.text });
    write(r.text.endsWith('\n') || r.text === '' ? r.text : `${r.text}\n`);
  });
}

export async function stop(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  if (opts.all !== true && str(opts.rig) === undefined)
    throw new GtError('GT_USAGE', 'say what to stop: gt stop --all, or gt stop --rig <name>');
  await withCoordinator(opts, async ({ client }) => {
    const res = await client.stopSessions({ all: opts.all === true, rig: str(opts.rig) ?? '' });
    if (opts.json === true) return printJson(messageJson(StopSessionsResponseSchema, res));
    const killed = res.stopped.filter((s) => s.killed);
    out(
      killed.length === 0
        ? 'no sessions were running'
        : `killed ${killed.length} session(s): ${killed.map((s) => s.address).join(', ')}`,
    );
    for (const f of res.failures) err(`error: not stopped (unreachable): ${f}`);
    if (res.failures.length > 0) process.exitCode = 1;
    for (const s of res.stopped.filter((x) => x.dirty.length > 0)) {
      err(`warning: ${s.address} has unsaved work in ${s.clone} (kept):`);
      for (const d of s.dirty) err(`  ${d}`);
    }
    for (const s of res.stopped.filter((x) => x.unsavedUnknown !== ''))
      err(
        `warning: ${s.address}: could not check unsaved work in ${s.clone} (kept): ${s.unsavedUnknown}`,
      );
  });
}
