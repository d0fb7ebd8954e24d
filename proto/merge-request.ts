/**
 * The merge request of a polecat that ran on a machine other than its rig's home, as the mail
 * that carries it to `<rig>/refinery` on the home (type `merge-request`, the queue record as JSON
 * in the body). Built the same way wherever `gt done` was answered (the polecat's node agent, or
 * the coordinator), with an id derived from rig, issue, epoch and head: the home's inbox keeps it
 * once however many times it is sent.
 */
import { createHash } from 'node:crypto';

export interface DoneFacts {
  address: string;
  issue: string;
  branch: string;
  head: string;
  epoch: bigint | number;
}

export interface MergeRequestMail {
  id: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  priority: string;
  type: string;
}

export function mergeRequestMail(rig: string, polecat: string, done: DoneFacts): MergeRequestMail {
  const epoch = Number(done.epoch);
  const digest = createHash('sha256')
    .update(['merge-request', rig, done.issue, String(epoch), done.head].join('\0'))
    .digest('hex');
  const record = {
    version: 1,
    rig,
    issue: done.issue,
    polecat,
    address: done.address,
    branch: done.branch,
    head: done.head,
    epoch,
    remote_ref: `origin/${done.branch}`,
    submitted_at: new Date().toISOString(),
  };
  return {
    id: `mr${digest.slice(0, 17)}`,
    from: done.address,
    to: `${rig}/refinery`,
    subject: `Merge request: ${done.issue}`,
    body: JSON.stringify(record),
    priority: 'normal',
    type: 'merge-request',
  };
}
