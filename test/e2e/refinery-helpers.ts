// Merge queue fixtures: real polecats (spawned with the passive echo agent), whose work the test
// writes, commits and pushes in the polecat's own clone before running the real `gt done`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { bd, gt, gtJson } from '../helpers/cli.js';
import { git } from '../helpers/git.js';
import { spawn, type SessionTown } from './sessions-helpers.js';

export interface Submission {
  issue: string;
  polecat: string;
  address: string;
  clone: string;
  branch: string;
}

export async function issue(t: SessionTown, title: string, priority = 2): Promise<string> {
  const r = await bd(['create', title, '-p', String(priority), '--json'], { env: t.beadsEnv });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }).id;
}

/** Commit `files` in the clone as the polecat would, and push its branch. */
export function commitAndPush(clone: string, files: Record<string, string>, message: string): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(clone, path)), { recursive: true });
    writeFileSync(join(clone, path), content);
  }
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '-m', message);
  git(clone, 'push', '-q', '--force-with-lease', '-u', 'origin', 'HEAD');
}

export async function done(t: SessionTown, address: string): Promise<void> {
  const r = await gt(['done', '--as', address], { env: t.env });
  expect(r.code, r.stderr).toBe(0);
}

/** Spawn a polecat on `id`, do its work (`files`), push, `gt done`. */
export async function submit(
  t: SessionTown,
  id: string,
  files: Record<string, string>,
): Promise<Submission> {
  const s = await spawn(t, id, 'echo');
  const clone = join(t.town, t.rig, 'polecats', s.polecat);
  commitAndPush(clone, files, `work on ${id}`);
  await done(t, s.address);
  return { issue: id, polecat: s.polecat, address: s.address, clone, branch: s.branch };
}

export function setTestCommand(t: SessionTown, command: string | undefined): void {
  const file = join(t.town, t.rig, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (command === undefined) delete config.test_command;
  else config.test_command = command;
  writeFileSync(file, JSON.stringify(config, null, 2));
}

/** Set keys of the rig's config.json (the owner's configuration). */
export function setRigConfig(t: SessionTown, keys: Record<string, unknown>): void {
  const file = join(t.town, t.rig, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...config, ...keys }, null, 2));
}

/** A file on origin's main (the bare repo), or undefined. */
export function onOriginMain(t: SessionTown, path: string): string | undefined {
  try {
    return git(t.repo, 'show', `main:${path}`);
  } catch {
    return undefined;
  }
}

export const originMain = (t: SessionTown): string => git(t.repo, 'rev-parse', 'main');

export interface EntryJson {
  id: string;
  state: string;
  priority: number;
  attempts: number;
  merged_commit: string;
  conflict_files: string[];
  last_error: string;
  files: string[];
  group: number;
  interrupted: boolean;
}

export interface ListJson {
  rig: string;
  entries: EntryJson[];
  groups: Array<{ group: number; entries: string[]; shared: string[] }>;
}

export async function mqList(t: SessionTown): Promise<ListJson> {
  const [listing] = await gtJson<ListJson[]>(['mq', 'list', t.rig], { env: t.env });
  if (listing === undefined) throw new Error('no listing');
  return listing;
}

export function mqStatus(t: SessionTown, id: string): Promise<EntryJson> {
  return gtJson<EntryJson>(['mq', 'status', id], { env: t.env });
}

export interface ProcessedJson {
  rig: string;
  processed: Array<{ id: string; state: string; commit: string; detail: string; resumed: boolean }>;
}

export async function processQueue(
  t: SessionTown,
  once = false,
): Promise<ProcessedJson['processed']> {
  const [r] = await gtJson<ProcessedJson[]>(
    ['refinery', 'process', t.rig, ...(once ? ['--once'] : [])],
    { env: t.env },
  );
  return r?.processed ?? [];
}
