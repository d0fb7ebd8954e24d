/**
 * Witness thresholds: rig config (`witness` in `<rig>/config.json`) over these defaults.
 * Nudge every 5 minutes without progress, escalate after 3 failed nudges (or after work sent
 * back by the Refinery twice has come back a third time), a swarm with no
 * progress for 30 minutes (the seed's figure) is stuck.
 */
import { rigPaths, tryReadRigConfig } from '../town/index.js';

export interface WitnessThresholds {
  nudgeIntervalMs: number;
  maxNudges: number;
  /** Times a polecat is woken to rework what the Refinery sent back before escalating. */
  maxRework: number;
  stuckTimeoutMs: number;
  patrolIntervalMs: number;
  /** A `working` state younger than this without a session is being started, not crashed. */
  crashGraceMs: number;
}

export const DEFAULT_THRESHOLDS: WitnessThresholds = {
  nudgeIntervalMs: 5 * 60_000,
  maxNudges: 3,
  maxRework: 2,
  stuckTimeoutMs: 30 * 60_000,
  patrolIntervalMs: 30_000,
  crashGraceMs: 15_000,
};

export async function witnessThresholds(townRoot: string, rig: string): Promise<WitnessThresholds> {
  const w = (await tryReadRigConfig(rigPaths(townRoot, rig).configJson))?.witness ?? {};
  return {
    nudgeIntervalMs: w.nudge_interval_ms ?? DEFAULT_THRESHOLDS.nudgeIntervalMs,
    maxNudges: w.max_nudges ?? DEFAULT_THRESHOLDS.maxNudges,
    maxRework: w.max_rework ?? DEFAULT_THRESHOLDS.maxRework,
    stuckTimeoutMs: w.stuck_timeout_ms ?? DEFAULT_THRESHOLDS.stuckTimeoutMs,
    patrolIntervalMs: w.patrol_interval_ms ?? DEFAULT_THRESHOLDS.patrolIntervalMs,
    crashGraceMs: w.crash_grace_ms ?? DEFAULT_THRESHOLDS.crashGraceMs,
  };
}
