/**
 * The seed's "disk full" row: `disk-space` reports the free space on the town's filesystem
 * (warning, then error when nearly full). Its `--fix` frees space the town itself made and no one
 * needs: first it empties the logs under run/; only if that is not enough does it remove idle
 * polecats whose clones hold nothing that exists nowhere else (the same test `gt rig remove`
 * uses: no uncommitted change, no unpushed commit, no stash) and whose inbox holds no unread
 * mail. A polecat home goes whole (clone, CLAUDE.md, read mail, state): the next spawn makes a
 * fresh one. Nothing else is ever deleted.
 */
import {
  existsSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { readJsonFile } from '../../proto/index.js';
import { TmuxServer } from '../tmux/index.js';
import { agentSession } from './agent-session.js';
import {
  DISK_ERROR,
  DISK_WARNING,
  describeSpace,
  diskLevel,
  diskSpaceOf,
  floorsOf,
  formatBytes,
  type DiskSpace,
} from './disk-space.js';
import type { DoctorCheck, DoctorProblem } from './doctor-types.js';
import { rigsOnDisk } from './doctor-rig-facts.js';
import { agentHomeFiles, rigPaths, townPaths } from './layout.js';
import { unsavedWork } from './rig-remove.js';
import { AgentStateSchema } from './schemas.js';

const LOG_NAME = /\.log(\.\d+)?$/;
/** States of a polecat with no assignment (done still waits for the Witness). */
const FINISHED = new Set(['idle', 'stopped']);
// (A stopped polecat that still names its issue was stopped mid-assignment: it is kept.)

interface RunLog {
  path: string;
  bytes: number;
}

function runLogs(townRoot: string): RunLog[] {
  const dir = townPaths(townRoot).runDir;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => LOG_NAME.test(name))
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => ({ path, bytes: statSync(path).size }))
    .filter((log) => log.bytes > 0);
}

interface IdlePolecat {
  address: string;
  home: string;
}

async function liveSessionNames(townRoot: string): Promise<Set<string> | undefined> {
  if (!existsSync(join(townPaths(townRoot).runDir, 'tmux.sock'))) return new Set();
  try {
    const sessions = await TmuxServer.forTown(townRoot).listSessions({ timeoutMs: 5_000 });
    return new Set(sessions.map((s) => s.name));
  } catch {
    return undefined; // a tmux server that does not answer: no polecat is provably idle
  }
}

/** Unread messages in a home's inbox; a line that is not a mail record counts as unread. */
function unreadMail(home: string): number {
  const inbox = agentHomeFiles(home).inbox;
  if (!existsSync(inbox)) return 0;
  return readFileSync(inbox, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        return (JSON.parse(line) as { read?: unknown }).read !== true;
      } catch {
        return true;
      }
    }).length;
}

/** Why this polecat home may not be removed, or undefined when it may. */
async function keepReason(
  home: string,
  address: string,
  live: ReadonlySet<string>,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const state = await readJsonFile(agentHomeFiles(home).state, AgentStateSchema).catch(
    () => undefined,
  );
  if (state === undefined || !FINISHED.has(state.state)) return 'not idle';
  if (state.issue !== undefined) return `still holds ${state.issue}`; // stopped mid-assignment
  if (live.has(agentSession(home, address))) return 'session alive';
  if (!existsSync(join(home, '.git'))) return 'no clone';
  if (unreadMail(home) > 0) return 'unread mail';
  const unsaved = await unsavedWork(home, signal);
  return unsaved.length > 0 ? unsaved.join(', ') : undefined;
}

/** Idle polecats (idle/stopped, no issue, no session, no unread mail) with nothing unsaved. */
async function removablePolecats(
  townRoot: string,
  signal: AbortSignal | undefined,
): Promise<IdlePolecat[]> {
  const live = await liveSessionNames(townRoot);
  if (live === undefined) return [];
  const out: IdlePolecat[] = [];
  for (const rig of rigsOnDisk(townRoot)) {
    const dir = rigPaths(townRoot, rig).polecatsDir;
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const home = join(dir, e.name);
      const address = `${rig}/${e.name}`;
      if ((await keepReason(home, address, live, signal)) === undefined)
        out.push({ address, home });
    }
  }
  return out;
}

/**
 * Remove one idle polecat home. It is first renamed out of the pool (a dot name no spawn picks:
 * a rename needs no free blocks), then checked again, so a spawn that took it meanwhile wins.
 */
async function removePolecat(
  townRoot: string,
  p: IdlePolecat,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const grave = join(
    p.home,
    '..',
    `.removing-${p.address.split('/')[1] ?? 'polecat'}-${process.pid}`,
  );
  renameSync(p.home, grave);
  const live = (await liveSessionNames(townRoot)) ?? new Set([agentSession(p.home, p.address)]);
  if ((await keepReason(grave, p.address, live, signal)) !== undefined) {
    renameSync(grave, p.home);
    return false;
  }
  rmSync(grave, { recursive: true, force: true });
  return true;
}

async function freeSpace(townRoot: string, signal: AbortSignal | undefined): Promise<string> {
  const before = diskSpaceOf(townRoot).freeBytes;
  const done: string[] = [];
  for (const log of runLogs(townRoot)) {
    truncateSync(log.path, 0);
    done.push(`emptied ${relative(townRoot, log.path)} (${formatBytes(log.bytes)})`);
  }
  // Polecats only while the logs were not enough, and no more of them than it takes.
  const low = (): boolean => diskLevel(diskSpaceOf(townRoot)) !== 'ok';
  if (low())
    for (const p of await removablePolecats(townRoot, signal)) {
      if (await removePolecat(townRoot, p, signal))
        done.push(`removed idle polecat ${p.address} and its clone (nothing unsaved)`);
      if (!low()) break;
    }
  const freed = diskSpaceOf(townRoot).freeBytes - before;
  if (done.length === 0) return 'found nothing to free (no logs, no idle clean polecats)';
  return `freed ${formatBytes(freed)} on the town's filesystem: ${done.join('; ')}`;
}

function lowSpaceProblem(
  townRoot: string,
  space: DiskSpace,
  level: 'warning' | 'error',
  logs: RunLog[],
  polecats: IdlePolecat[],
  signal: AbortSignal | undefined,
): DoctorProblem {
  const floor = formatBytes(floorsOf(space, level === 'error' ? DISK_ERROR : DISK_WARNING).bytes);
  const message =
    level === 'error'
      ? `disk nearly full: ${describeSpace(space)} on the filesystem of ${townRoot} (error below ${floor}); writes will fail`
      : `disk space low: ${describeSpace(space)} on the filesystem of ${townRoot} (warning below ${floor})`;
  const freeable = [
    ...(logs.length === 0
      ? []
      : [
          `empties ${logs.length} log(s) under run/ (${formatBytes(logs.reduce((n, l) => n + l.bytes, 0))})`,
        ]),
    ...(polecats.length === 0
      ? []
      : [
          `${logs.length === 0 ? '' : 'then, if that is not enough, '}removes ${polecats.length} idle polecat(s) with nothing unsaved and no unread mail (${polecats.map((p) => p.address).join(', ')})`,
        ]),
  ];
  if (freeable.length === 0)
    return {
      status: level,
      message,
      hint: `nothing gt may delete is left: free space on that filesystem yourself (\`du -sh ${townRoot}/*\` shows what is big)`,
    };
  return {
    status: level,
    message,
    hint: `\`gt doctor --fix\` ${freeable.join(', ')}`,
    repair: () => freeSpace(townRoot, signal),
  };
}

export const DISK_SPACE_CHECK: DoctorCheck = {
  id: 'disk-space',
  scope: 'workspace',
  title: "free space on the town's filesystem",
  async run({ townRoot, signal }) {
    const space = diskSpaceOf(townRoot);
    const level = diskLevel(space);
    if (level === 'ok')
      return [
        { status: 'ok', message: `disk space: ${describeSpace(space)} on the town's filesystem` },
      ];
    return [
      lowSpaceProblem(
        townRoot,
        space,
        level,
        runLogs(townRoot),
        await removablePolecats(townRoot, signal),
        signal,
      ),
    ];
  },
};
