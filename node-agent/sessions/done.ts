/**
 * `gt done`: a polecat says its work is finished. Checks the clone is clean and its branch pushed,
 * writes the merge-queue record the refinery consumes, sets the state `done`, and mails the
 * witness a `done` mail. Everything carries the spawn epoch; a `gt done` from an older spawn of
 * the same polecat (a stale session) is refused, so it can never finish the new worker's work.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GtError, errorMessage, parseJsonText, writeJsonAtomic } from '../../proto/index.js';
import { currentBranch, runGit } from '../git.js';
import { Mailbox } from '../mail/index.js';
import { MergeRequestSchema, rigPaths, type MergeRequest } from '../town/index.js';
import {
  placeAgent,
  readAgentState,
  stamped,
  updateAgentState,
  type AgentPlace,
} from './agent-home.js';
import { unsavedWorkIn } from './clone.js';

export interface DoneOptions {
  townRoot: string;
  address: string;
  /** The caller's GT_EPOCH; 0 = whatever the state says (a human running it by hand). */
  epoch: number;
}

/** `<rig>/refinery/queue/<issue>.json`: one record per issue, the latest `gt done` wins. */
export type { MergeRequest } from '../town/index.js';

export interface DoneResult {
  address: string;
  issue: string;
  branch: string;
  head: string;
  epoch: number;
  queueRecord: string;
  mailId: string;
}

export function mergeQueueDir(townRoot: string, rig: string): string {
  return join(rigPaths(townRoot, rig).refineryHome, 'queue');
}

async function assertPushed(place: AgentPlace, branch: string): Promise<string> {
  const unsaved = (await unsavedWorkIn(place.home)).filter((l) => l.startsWith('uncommitted'));
  if (unsaved.length > 0)
    throw new GtError(
      'GT_DIRTY',
      `${place.address}: the clone has uncommitted changes: ${unsaved
        .slice(0, 5)
        .map((l) => l.slice(13))
        .join(', ')}`,
      {
        hint: `commit (or remove) them in ${place.home}, push the branch, then run \`gt done\` again`,
      },
    );
  const head = await runGit(['rev-parse', 'HEAD'], { cwd: place.home });
  const remote = await runGit(
    ['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`],
    { cwd: place.home },
  ).catch(() => '');
  if (remote !== head)
    throw new GtError(
      'GT_DIRTY',
      `${place.address}: branch ${branch} is not pushed${remote === '' ? '' : ' (origin is behind)'}`,
      {
        hint: `run \`git push -u origin ${branch}\` in ${place.home}, then \`gt done\` again`,
      },
    );
  return head;
}

/** The same `gt done` again (same epoch, same head): idempotent, no second mail to the witness. */
async function alreadyDone(
  file: string,
  state: string,
  epoch: number,
  head: string,
): Promise<MergeRequest | undefined> {
  if (state !== 'done' || !existsSync(file)) return undefined;
  // A broken record (torn, hand-edited) is not "already done": this `gt done` writes it anew.
  let record: MergeRequest;
  try {
    record = parseJsonText(file, await readFile(file, 'utf8'), MergeRequestSchema);
  } catch {
    return undefined;
  }
  return record.epoch === epoch && record.head === head ? record : undefined;
}

export async function polecatDone(options: DoneOptions): Promise<DoneResult> {
  const place = placeAgent(options.townRoot, options.address);
  if (place.role !== 'polecat' || place.rig === undefined || place.name === undefined)
    throw new GtError(
      'GT_INVALID_ARGUMENT',
      `gt done is for polecats; ${place.address} is a ${place.role}`,
    );
  const state = await readAgentState(place.home, 'polecat');
  if (options.epoch !== 0 && state.epoch !== undefined && options.epoch !== state.epoch)
    throw new GtError(
      'GT_CONFLICT',
      `stale signal ignored: this session of ${place.address} is epoch ${options.epoch}, the polecat is now epoch ${state.epoch}`,
      {
        hint: 'an older session of this polecat is still running; `gt kill` it',
      },
    );
  if (state.issue === undefined)
    throw new GtError(
      'GT_CONFLICT',
      `${place.address} has no assigned issue (state ${state.state})`,
      {
        hint: 'gt done finishes an assignment made by `gt spawn`',
      },
    );
  const branch = (await currentBranch(place.home)) ?? state.branch ?? '';
  const head = await assertPushed(place, branch);
  const epoch = state.epoch ?? 0;
  const queueRecord = join(mergeQueueDir(options.townRoot, place.rig), `${state.issue}.json`);
  const already = await alreadyDone(queueRecord, state.state, epoch, head);
  if (already !== undefined)
    return {
      address: place.address,
      issue: state.issue,
      branch,
      head,
      epoch,
      queueRecord,
      mailId: '',
    };
  const now = new Date().toISOString();
  const record: MergeRequest = {
    version: 1,
    rig: place.rig,
    issue: state.issue,
    polecat: place.name,
    address: place.address,
    branch,
    head,
    epoch,
    remote_ref: `origin/${branch}`,
    submitted_at: now,
  };
  mkdirSync(dirname(queueRecord), { recursive: true });
  await writeJsonAtomic(queueRecord, record);
  await updateAgentState(place.home, 'polecat', (s) =>
    s.epoch === state.epoch ? stamped({ ...s, state: 'done', branch }) : s,
  );
  const witness = new Mailbox({ home: rigPaths(options.townRoot, place.rig).witnessHome });
  const mail = await witness.append({
    from: place.address,
    to: `${place.rig}/witness`,
    subject: `Done: ${state.issue}`,
    body: `${place.address} finished ${state.issue}: branch ${branch} pushed at ${head.slice(0, 12)}; queued for the refinery (${queueRecord}).`,
    type: 'done',
    priority: 'normal',
    epoch,
    issue: state.issue,
    branch,
    head,
  });
  return {
    address: place.address,
    issue: state.issue,
    branch,
    head,
    epoch,
    queueRecord,
    mailId: mail.message.id,
  };
}

/**
 * On the rig's home: the merge request of a polecat that ran on another machine, carried here as
 * a `merge-request` mail to `<rig>/refinery` (through the coordinator's durable outbox). The
 * queue record is written as a local `gt done` writes it; the same request again (same epoch
 * and head: a retried delivery, a repeated `gt done`) leaves the record as it is.
 */
export async function acceptMergeRequest(
  townRoot: string,
  body: string,
): Promise<{ record: string; fresh: boolean }> {
  let record: MergeRequest;
  try {
    record = MergeRequestSchema.parse(JSON.parse(body));
  } catch (err) {
    throw new GtError(
      'GT_INVALID_ARGUMENT',
      `a merge-request mail whose body is not a merge request: ${errorMessage(err)}`,
    );
  }
  const file = join(mergeQueueDir(townRoot, record.rig), `${record.issue}.json`);
  if (existsSync(file)) {
    const old = await readFile(file, 'utf8')
      .then((t) => parseJsonText(file, t, MergeRequestSchema))
      .catch(() => undefined);
    if (old?.epoch === record.epoch && old.head === record.head)
      return { record: file, fresh: false };
  }
  mkdirSync(dirname(file), { recursive: true });
  await writeJsonAtomic(file, record);
  return { record: file, fresh: true };
}
