/**
 * `gt release <rig>/<polecat>`: the Overseer gives a stopped polecat's issue back to the queue
 * (status open, unassigned, so `bd ready` lists it again). The polecat becomes idle; its clone and
 * branch are kept. A polecat whose session runs, or whose work is in the merge queue, is refused.
 */
import { GtError } from '../../proto/index.js';
import { openBeads, updateIssue } from '../beads/index.js';
import { rigPaths } from '../town/index.js';
import { placeAgent, requireRig, stamped, townTmux, updateAgentState } from './agent-home.js';
import { releaseClaim } from './claims.js';

export interface ReleasedIssue {
  address: string;
  issue: string;
  /** False when the tracker no longer had the issue in_progress for this polecat. */
  released: boolean;
}

export async function releasePolecatIssue(
  townRoot: string,
  address: string,
): Promise<ReleasedIssue> {
  const place = placeAgent(townRoot, address);
  if (place.role !== 'polecat' || place.rig === undefined)
    throw new GtError('GT_USAGE', `${place.address} is not a polecat: only polecats hold issues`, {
      hint: 'gt release <rig>/<polecat>',
    });
  const { rig } = place;
  const tmux = townTmux(townRoot);
  let result: ReleasedIssue | undefined;
  await updateAgentState(place.home, 'polecat', async (s) => {
    const issue = s.issue;
    if (issue === undefined)
      throw new GtError('GT_NOT_FOUND', `${place.address} holds no issue`, {
        hint: `see what each polecat holds with \`gt polecats ${rig}\``,
      });
    if (s.state === 'done')
      throw new GtError(
        'GT_CONFLICT',
        `${place.address} has finished ${issue}: its work is in the merge queue`,
        { hint: `see \`gt mq status ${rig}/${issue}\`` },
      );
    if (await tmux.hasSession(place.session))
      throw new GtError(
        'GT_CONFLICT',
        `${place.address} is running (session ${place.session}) on ${issue}`,
        { hint: `stop it first with \`gt kill ${place.address}\`, then release it` },
      );
    result = {
      address: place.address,
      issue,
      released: releaseClaim(rigPaths(townRoot, rig).beadsDir, issue, place.address),
    };
    const { issue: _i, session: _s, ...rest } = s;
    return stamped({ ...rest, state: 'idle' });
  });
  if (result === undefined) throw new Error('unreachable: the state update did not run');
  return result;
}

/**
 * `gt machine reassign`, on the rig's home: `issue`, held by `holder` (a polecat on a machine
 * that is lost), goes back to ready (status open, assignee cleared) with `note` appended to its
 * notes. Anyone else's claim, or an issue no longer in progress, is left alone and described.
 */
export async function returnIssue(
  townRoot: string,
  req: { rig: string; issue: string; holder: string; note: string },
): Promise<{ returned: boolean; detail: string }> {
  await requireRig(townRoot, req.rig);
  const store = openBeads(rigPaths(townRoot, req.rig).beadsDir, 'overseer');
  try {
    return store.write(() => {
      const current = store.getIssue(req.issue);
      if (current === undefined)
        return { returned: false, detail: `no issue ${req.issue} in rig ${req.rig}` };
      if (current.assignee !== req.holder || current.status !== 'in_progress')
        return {
          returned: false,
          detail: `${req.issue} is ${current.status}${current.assignee ? ` (assignee ${current.assignee})` : ''}, not held by ${req.holder}: left as it is`,
        };
      const notes = current.notes === undefined || current.notes === '' ? '' : `${current.notes}\n`;
      updateIssue(store, req.issue, {
        status: 'open',
        assignee: '',
        notes: `${notes}${req.note}`,
      });
      return { returned: true, detail: '' };
    });
  } finally {
    store.close();
  }
}
