// A claim on a rig's home held by a polecat placed on another machine: the home has no polecat
// home for it, and only the fleet doctor knows it runs elsewhere (DoctorRequest
// .polecats_elsewhere). Named there, the claim is not an orphan and --fix leaves it claimed;
// not named (its session died there, or nobody runs it), it is one and --fix gives it back.
import { describe, expect, it } from 'vitest';
import {
  claimIssue,
  createIssue,
  openBeads,
  rigPaths,
  runDoctor,
} from '../../../node-agent/index.js';
import { ORPHANED_CLAIMS_CHECK } from '../../../node-agent/sessions/claims.js';
import { writeJsonAtomic } from '../../../proto/index.js';
import { makeTownWithRig, readJson } from './fixtures.js';

describe('orphaned claims and polecats on other machines', () => {
  it('a claim held elsewhere is not an orphan; the same claim unheld is, and --fix gives it back', async () => {
    const { root } = await makeTownWithRig();
    const paths = rigPaths(root, 'wyvern');
    // No grace for "a spawn still cloning": the claim is judged at once.
    const config = readJson(paths.configJson) as Record<string, unknown>;
    await writeJsonAtomic(paths.configJson, { ...config, witness: { crash_grace_ms: 0 } });
    const store = openBeads(paths.beadsDir, 'overseer');
    const issue = (() => {
      try {
        const made = createIssue(store, { title: 'Placed on w3' });
        claimIssue(store, made.id, 'wyvern/Toast');
        return made.id;
      } finally {
        store.close();
      }
    })();
    const checks = [ORPHANED_CLAIMS_CHECK];
    const orphans = (r: Awaited<ReturnType<typeof runDoctor>>) =>
      r.findings.filter((f) => f.check === 'orphaned-claims' && f.status !== 'ok');

    const held = await runDoctor({
      townRoot: root,
      fix: true,
      checks,
      polecatsElsewhere: ['wyvern/Toast'],
    });
    expect(orphans(held)).toEqual([]);
    expect(held.fixed).toEqual([]);

    const unheld = await runDoctor({ townRoot: root, checks });
    expect(orphans(unheld)).toEqual([
      expect.objectContaining({
        status: 'error',
        message: `orphaned claim: ${issue} is in_progress, assigned to wyvern/Toast, which does not exist (no polecat home here, and no other machine runs it on that issue)`,
      }),
    ]);
    const fixed = await runDoctor({ townRoot: root, fix: true, checks });
    expect(fixed.fixed).toEqual([
      `gave ${issue} back (open, unassigned): wyvern/Toast was not working on it`,
    ]);
  });
});
