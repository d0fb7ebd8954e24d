/** What the Refinery does to an entry's issue in the rig's beads: close it, or give it back. */
import { closeIssues, openBeads, updateIssue } from '../beads/index.js';
import { rigPaths } from '../town/index.js';
import type { QueueEntry } from './queue.js';

function withStore<T>(
  townRoot: string,
  entry: QueueEntry,
  fn: (store: ReturnType<typeof openBeads>) => T,
): T {
  const store = openBeads(rigPaths(townRoot, entry.rig).beadsDir, `${entry.rig}/refinery`);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** Close the issue (idempotent: an issue already closed is left as it is). */
export function closeMergedIssue(townRoot: string, entry: QueueEntry, commit: string): void {
  withStore(townRoot, entry, (store) => {
    const issue = store.getIssue(entry.issue);
    if (issue === undefined || issue.status === 'closed') return;
    closeIssues(
      store,
      [entry.issue],
      `Merged to main in ${commit} by the refinery (${entry.branch})`,
    );
  });
}

/** The gate failed: the issue goes back to the polecat (in_progress, assigned to it). */
export function giveIssueBack(townRoot: string, entry: QueueEntry): void {
  withStore(townRoot, entry, (store) => {
    if (store.getIssue(entry.issue) === undefined) return;
    updateIssue(store, entry.issue, { status: 'in_progress', assignee: entry.address });
  });
}
