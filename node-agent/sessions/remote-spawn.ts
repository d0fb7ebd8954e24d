/**
 * A spawn the coordinator placed on this machine for a rig homed on another: what it carries
 * (where the code is, the issue as claimed on the home) and its reading from the wire.
 */
import { GtError } from '../../proto/index.js';
import type { BeadIssue } from '../beads/index.js';

export interface RemoteSpawn {
  homeMachine: string;
  gitUrl: string;
  defaultBranch: string;
  prefix: string;
  issue: BeadIssue;
  /** The home's Witness settings for the rig (unchecked JSON; the satellite's schema checks). */
  witness?: unknown;
}

function witnessOf(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new GtError('GT_INVALID_ARGUMENT', "a remote spawn's witness settings are not JSON", {
      hint: "check the rig's config.json on its home machine (`gt doctor`)",
    });
  }
}

/** The wire's RemoteRig as a RemoteSpawn; a missing or malformed claimed issue is refused. */
export function remoteRigOf(r: {
  homeMachine: string;
  gitUrl: string;
  defaultBranch: string;
  prefix: string;
  issueJson: string;
  witnessJson?: string;
}): RemoteSpawn {
  let issue: unknown;
  try {
    issue = JSON.parse(r.issueJson);
  } catch {
    issue = undefined;
  }
  const i = issue as Partial<BeadIssue> | undefined;
  if (typeof i?.id !== 'string' || typeof i.title !== 'string' || r.gitUrl === '')
    throw new GtError(
      'GT_INVALID_ARGUMENT',
      "a remote spawn needs the rig's git_url and the claimed issue as beads JSON (id, title)",
    );
  return {
    homeMachine: r.homeMachine,
    gitUrl: r.gitUrl,
    defaultBranch: r.defaultBranch,
    prefix: r.prefix,
    issue: i as BeadIssue,
    ...(r.witnessJson === undefined || r.witnessJson === ''
      ? {}
      : { witness: witnessOf(r.witnessJson) }),
  };
}
