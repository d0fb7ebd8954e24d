/** gt mq list/status/retry and gt refinery process: the Refinery's merge queue. */
import {
  GtError,
  ListMergeQueueResponseSchema,
  MergeQueueEntrySchema,
  ProcessMergeQueueResponseSchema,
  type ListMergeQueueResponse,
  type MergeQueueEntry,
} from '../../proto/index.js';
import { messageJson, oneLine, out, printJson, table } from '../output.js';
import type { CoordinatorClient } from '../session.js';
import { optionsOf, withCoordinator } from './context.js';

/** The named rig, else $GT_RIG, else every rig of the town. */
async function rigsFor(client: CoordinatorClient, rig: string | undefined): Promise<string[]> {
  if (rig !== undefined && rig !== '') return [rig];
  const env = process.env.GT_RIG;
  if (env !== undefined && env !== '') return [env];
  return (await client.listRigs({})).rigs.map((r) => r.name);
}

/** `<rig>/<id>`, or an issue id whose prefix names a rig (`wyv-a1b` → the rig with prefix wyv). */
async function locate(
  client: CoordinatorClient,
  ref: string,
  rigOpt: unknown,
): Promise<{ rig: string; id: string }> {
  const slash = ref.indexOf('/');
  if (slash > 0) return { rig: ref.slice(0, slash), id: ref.slice(slash + 1) };
  if (typeof rigOpt === 'string' && rigOpt !== '') return { rig: rigOpt, id: ref };
  const rigs = (await client.listRigs({})).rigs;
  const byPrefix = rigs.find((r) => r.prefix !== '' && ref.startsWith(`${r.prefix}-`));
  const rig =
    byPrefix?.name ?? process.env.GT_RIG ?? (rigs.length === 1 ? rigs[0]?.name : undefined);
  if (rig === undefined)
    throw new GtError('GT_USAGE', `which rig is ${ref} in?`, {
      hint: 'pass <rig>/<id> or --rig <rig>',
    });
  return { rig, id: ref };
}

const short = (sha: string): string => sha.slice(0, 10);

function printQueue(res: ListMergeQueueResponse): void {
  out(`${res.rig}: ${res.entries.length} entr${res.entries.length === 1 ? 'y' : 'ies'}`);
  if (res.entries.length === 0) return;
  out(
    table(
      ['ID', 'STATE', 'PRI', 'POLECAT', 'BRANCH', 'HEAD', 'GROUP', 'SUBMITTED', 'DETAIL'],
      res.entries.map((e) => [
        e.id,
        e.interrupted ? 'merging (interrupted)' : e.state,
        `P${e.priority}`,
        e.polecat,
        e.branch,
        short(e.head),
        e.group === 0 ? '' : String(e.group),
        e.submittedAt,
        e.state === 'merged' ? short(e.mergedCommit) : e.lastError,
      ]),
    ),
  );
  if (res.groups.length === 0) return;
  out('');
  out('Overlap groups (disjoint groups could be tested together; a group merges in order):');
  for (const g of res.groups)
    out(
      `  group ${g.group}: ${g.entries.join(' → ')}${g.shared.length === 0 ? '' : `  (shared: ${g.shared.join(', ')})`}`,
    );
}

export async function list(...args: unknown[]): Promise<void> {
  const [rig] = args as [string | undefined];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const results: ListMergeQueueResponse[] = [];
    for (const name of await rigsFor(client, rig))
      results.push(await client.listMergeQueue({ rig: name }));
    if (opts.json === true)
      return printJson(results.map((r) => messageJson(ListMergeQueueResponseSchema, r)));
    results.forEach((r, i) => {
      if (i > 0) out('');
      printQueue(r);
    });
  });
}

function printEntry(e: MergeQueueEntry): void {
  const rows: Array<[string, string]> = [
    ['entry', `${e.rig}/${e.id}`],
    ['state', e.interrupted ? `merging (interrupted: refinery pid ${e.pid} is gone)` : e.state],
    ['polecat', `${e.address} (epoch ${e.epoch})`],
    ['branch', `${e.branch} at ${e.head}`],
    ['priority', `P${e.priority}`],
    ['submitted', e.submittedAt],
    ['attempts', String(e.attempts)],
    ['updated', e.updatedAt],
  ];
  if (e.mergedCommit !== '') rows.push(['merged as', e.mergedCommit]);
  if (e.conflictFiles.length > 0) rows.push(['conflicts', e.conflictFiles.join(', ')]);
  if (e.lastError !== '') rows.push(['last error', e.lastError]);
  for (const [k, v] of rows) out(`${k.padEnd(10)} ${oneLine(v)}`);
}

export async function status(...args: unknown[]): Promise<void> {
  const [ref] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const e = await client.getMergeQueueEntry(await locate(client, ref, opts.rig));
    if (opts.json === true) return printJson(messageJson(MergeQueueEntrySchema, e));
    printEntry(e);
  });
}

export async function retry(...args: unknown[]): Promise<void> {
  const [ref] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const e = await client.retryMergeQueueEntry(await locate(client, ref, opts.rig));
    if (opts.json === true) return printJson(messageJson(MergeQueueEntrySchema, e));
    out(`${e.rig}/${e.id} is queued again; the refinery will merge it next time it runs`);
  });
}

export async function processQueue(...args: unknown[]): Promise<void> {
  const [rig] = args as [string | undefined];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const results = [];
    for (const name of await rigsFor(client, rig))
      results.push(await client.processMergeQueue({ rig: name, once: opts.once === true }));
    if (opts.json === true)
      return printJson(results.map((r) => messageJson(ProcessMergeQueueResponseSchema, r)));
    for (const r of results) {
      if (r.processed.length === 0) out(`${r.rig}: nothing to merge`);
      for (const p of r.processed)
        out(`${r.rig}/${p.id}: ${p.state}${p.resumed ? ' (resumed)' : ''} — ${p.detail}`);
    }
  });
}
