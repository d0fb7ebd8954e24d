/**
 * `gt doctor`: a list of checks, each scoped to the workspace, one rig, or the swarm. A check
 * returns problems; a problem may carry a `repair` that `--fix` runs (repairs create, re-register,
 * re-clone or set aside — they never delete user work; only disk-space deletes, and only what gt
 * made and nobody needs: logs, idle polecats with nothing unsaved). After repairing, the check
 * runs again and its fresh result is what the report shows, so a report after `--fix` is the
 * truth on disk.
 *
 * Later issues add swarm checks (stuck workers, zombie sessions, heartbeats) by passing more
 * DoctorChecks to runDoctor; nothing here needs to change for them.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { GtError, errorMessage } from '../../proto/index.js';
import { rigPaths, townPaths } from './layout.js';
import { readRigsRegistry } from './town.js';
import type {
  DoctorCheck,
  DoctorContext,
  DoctorFinding,
  DoctorProblem,
  DoctorReport,
  RunDoctorOptions,
} from './doctor-types.js';
import { rigsOnDisk } from './doctor-rig-facts.js';
import { WORKSPACE_CHECKS } from './doctor-workspace.js';
import { RIG_CHECKS } from './doctor-rig.js';

function toFindings(check: DoctorCheck, rig: string | undefined, problems: DoctorProblem[]) {
  const where = rig === undefined ? {} : { rig };
  if (problems.length === 0)
    return [
      {
        check: check.id,
        scope: check.scope,
        ...where,
        status: 'ok' as const,
        message: `${check.title}: ok`,
        fixable: false,
      },
    ];
  return problems.map((p): DoctorFinding => ({
    check: check.id,
    scope: check.scope,
    ...where,
    status: p.status,
    message: p.message,
    ...(p.hint === undefined ? {} : { hint: p.hint }),
    fixable: p.repair !== undefined,
  }));
}

/**
 * Why config/rigs.json cannot be read, or undefined when it can (or is absent). Checks that need
 * the registry are then skipped with one line each instead of repeating rigs-config's error.
 */
async function rigsRegistryProblem(townRoot: string): Promise<string | undefined> {
  if (!existsSync(townPaths(townRoot).rigsJson)) return undefined;
  try {
    await readRigsRegistry(townRoot);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/** What the run knows of root causes so far: the registry's problem, root-cause checks that failed. */
interface RootCauses {
  rigsProblem?: string | undefined;
  /** "<check id> (rig <name>)" of each root-cause check that reported an error. */
  failed: string[];
}

async function runOne(
  check: DoctorCheck,
  ctx: DoctorContext,
  causes: RootCauses = { failed: [] },
): Promise<DoctorProblem[]> {
  const { rigsProblem } = causes;
  try {
    return await check.run(ctx);
  } catch (err) {
    // The root cause is reported once, by rigs-config; a check that needs the registry says so.
    if (rigsProblem !== undefined && errorMessage(err).includes(rigsProblem))
      return [
        {
          status: 'warning',
          message: `skipped: config/rigs.json is unreadable (see rigs-config)`,
          hint: 'fix config/rigs.json first (see the rigs-config finding)',
        },
      ];
    if (causes.failed.length > 0)
      return [
        {
          status: 'warning',
          message: `skipped: it reads files reported broken above (see ${causes.failed.join(', ')}): ${errorMessage(err)}`,
          hint: `fix what ${causes.failed.join(', ')} reports first, then run \`gt doctor\` again`,
        },
      ];
    // A GtError knows what to do about itself (a full disk, a lock held); anything else is ours.
    const hint =
      err instanceof GtError && err.hint !== undefined
        ? err.hint
        : 'this is a bug in gt doctor or an unreadable file; run the check again with --verbose and report it';
    return [
      {
        status: 'error',
        message: `${check.title}: the check itself failed: ${errorMessage(err)}`,
        hint,
        checkFailed: true,
      },
    ];
  }
}

async function runAndMaybeRepair(
  check: DoctorCheck,
  ctx: DoctorContext,
  fix: boolean,
  fixed: string[],
  causes: RootCauses = { failed: [] },
): Promise<DoctorFinding[]> {
  const { findings, found } = await runAndRepair(check, ctx, fix, fixed, causes);
  // Only what the check found is a root cause; a check that could not look (a full disk) is not.
  if (check.rootCause === true && found.some((p) => p.status === 'error' && p.checkFailed !== true))
    causes.failed.push(ctx.rig === undefined ? check.id : `${check.id} (rig ${ctx.rig})`);
  return findings;
}

async function runAndRepair(
  check: DoctorCheck,
  ctx: DoctorContext,
  fix: boolean,
  fixed: string[],
  causes: RootCauses,
): Promise<{ findings: DoctorFinding[]; found: DoctorProblem[] }> {
  let problems = await runOne(check, ctx, causes);
  const repairs = problems.filter((p) => p.repair !== undefined && p.status !== 'ok');
  if (!fix || repairs.length === 0)
    return { findings: toFindings(check, ctx.rig, problems), found: problems };
  const failures: DoctorProblem[] = [];
  for (const problem of repairs) {
    try {
      fixed.push(await (problem.repair as () => Promise<string>)());
    } catch (err) {
      failures.push({
        status: 'error',
        message: `could not fix "${problem.message}": ${errorMessage(err)}`,
        hint: problem.hint,
      });
    }
  }
  problems = await runOne(check, ctx, causes);
  return {
    findings: toFindings(check, ctx.rig, [...failures, ...problems]),
    found: [...failures, ...problems],
  };
}

/** The rigs on this machine, each with the machine that homes it when it is a satellite here. */
async function rigsToCheck(
  townRoot: string,
): Promise<Array<{ rig: string; satelliteOf: string | undefined }>> {
  const names = new Set(rigsOnDisk(townRoot));
  const homes = new Map<string, string>();
  try {
    const registry = await readRigsRegistry(townRoot);
    for (const [name, entry] of Object.entries(registry.rigs)) {
      if (existsSync(rigPaths(townRoot, name).root)) names.add(name);
      if (entry.home_machine !== undefined) homes.set(name, entry.home_machine);
    }
  } catch {
    /* the rigs-config check reports it */
  }
  return [...names].sort().map((rig) => ({ rig, satelliteOf: homes.get(rig) }));
}

/** Run every check (workspace, then each rig, then swarm), repairing when `fix` is set. */
export async function runDoctor(options: RunDoctorOptions): Promise<DoctorReport> {
  const townRoot = resolve(options.townRoot);
  if (!existsSync(townPaths(townRoot).townJson))
    throw new GtError('GT_NOT_A_TOWN', `${townRoot} is not a town: config/town.json is missing`, {
      hint: 'run gt doctor inside a town, or create one with `gt install <path>`',
    });
  const fix = options.fix === true;
  const fixed: string[] = [];
  const findings: DoctorFinding[] = [];
  const all = [...WORKSPACE_CHECKS, ...RIG_CHECKS, ...(options.checks ?? [])];
  const base = {
    townRoot,
    signal: options.signal,
    polecatsElsewhere: new Set(options.polecatsElsewhere ?? []),
  };
  for (const check of all.filter((c) => c.scope === 'workspace'))
    findings.push(...(await runAndMaybeRepair(check, base, fix, fixed)));
  // Read after the workspace checks: --fix may just have rebuilt it.
  const causes: RootCauses = { rigsProblem: await rigsRegistryProblem(townRoot), failed: [] };
  for (const { rig, satelliteOf } of await rigsToCheck(townRoot))
    for (const check of all.filter((c) => c.scope === 'rig')) {
      // A satellite holds polecats and a witness home only; its home's doctor checks the rest.
      if (satelliteOf !== undefined && check.homeOnly === true) continue;
      const ctx = { ...base, rig, satelliteOf };
      findings.push(...(await runAndMaybeRepair(check, ctx, fix, fixed, causes)));
    }
  for (const check of all.filter((c) => c.scope === 'swarm'))
    findings.push(...(await runAndMaybeRepair(check, base, fix, fixed, causes)));
  return { townRoot, findings, fixed, ok: findings.every((f) => f.status !== 'error') };
}
