/** The doctor's plain types, shared by the framework (doctor.ts) and the checks. */

export type DoctorScope = 'workspace' | 'rig' | 'swarm';
export type DoctorStatus = 'ok' | 'warning' | 'error';

/** One line of the doctor's report (plain JSON). */
export interface DoctorFinding {
  check: string;
  scope: DoctorScope;
  rig?: string;
  status: DoctorStatus;
  message: string;
  hint?: string;
  fixable: boolean;
}

/** What a check returns: a finding's content plus, when safe, how to repair it. */
export interface DoctorProblem {
  status: DoctorStatus;
  message: string;
  hint?: string | undefined;
  /** Runs on --fix; resolves to a sentence saying what it did. */
  repair?: (() => Promise<string>) | undefined;
  /** Set by the framework when the check itself failed (threw) instead of finding this. */
  checkFailed?: boolean | undefined;
}

export interface DoctorContext {
  townRoot: string;
  /** Set for rig-scoped checks. */
  rig?: string | undefined;
  signal?: AbortSignal | undefined;
  /**
   * For a rig check: the machine that homes the rig when this machine only holds its satellite
   * (polecats placed here; node-agent/town/satellite.ts). Undefined for a rig homed here.
   */
  satelliteOf?: string | undefined;
  /** Polecats (rig/name) holding their issue on other machines (from the fleet doctor). */
  polecatsElsewhere?: ReadonlySet<string> | undefined;
}

export interface DoctorCheck {
  id: string;
  scope: DoctorScope;
  title: string;
  /**
   * Set on a check of files other checks read (a rig's beads, say): while it reports an error,
   * a later check that fails outright is shown as skipped, naming this check as the root cause,
   * instead of repeating its error as "the check itself failed".
   */
  rootCause?: boolean;
  /**
   * A rig check of what only the rig's home has (beads, refinery and mayor clones): not run for a
   * satellite, whose home machine's doctor checks them.
   */
  homeOnly?: boolean;
  /** Empty array = healthy (the report shows "<title>: ok"). */
  run(ctx: DoctorContext): Promise<DoctorProblem[]>;
}

export interface RunDoctorOptions {
  townRoot: string;
  fix?: boolean | undefined;
  /** Extra checks (e.g. swarm checks from later issues), run after the built-in ones. */
  checks?: readonly DoctorCheck[] | undefined;
  signal?: AbortSignal | undefined;
  /** Polecats (rig/name) holding their issue on other machines: their claims are not orphans. */
  polecatsElsewhere?: readonly string[] | undefined;
}

export interface DoctorReport {
  townRoot: string;
  findings: DoctorFinding[];
  /** What --fix did, one sentence each. */
  fixed: string[];
  /** False when any finding is an error (the CLI exits 1). */
  ok: boolean;
}
