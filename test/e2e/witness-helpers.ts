// Helpers of the Witness / swarm / plugin e2e tests: patrols through the built gt, mail files.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import { inboxOf, type SessionTown } from './sessions-helpers.js';

export interface PatrolJson {
  rig: string;
  polecats: number;
  actions: Array<{ address: string; kind: string; detail: string }>;
  cpu_ms: number;
}

export function patrol(t: SessionTown): Promise<PatrolJson> {
  return gtJson<PatrolJson>(['witness', 'patrol', t.rig, '--once', '--json'], { env: t.env });
}

/** Set the rig's witness thresholds (config.json `witness`). */
export function setWitnessConfig(t: SessionTown, witness: Record<string, number>): void {
  const file = join(t.town, t.rig, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...config, witness }, null, 2));
}

export const mayorInbox = (t: SessionTown) => inboxOf(join(t.town, 'mayor'));
export const polecatHome = (t: SessionTown, name: string) => join(t.town, t.rig, 'polecats', name);
export const pluginHome = (t: SessionTown, name: string) => join(t.town, t.rig, 'plugins', name);

export function makePlugin(t: SessionTown, name: string): string {
  const home = pluginHome(t, name);
  mkdirSync(join(home, 'mail'), { recursive: true });
  writeFileSync(join(home, 'CLAUDE.md'), `# ${name}\n`);
  return home;
}

export function paneOf(t: SessionTown, session: string): string {
  return execFileSync(
    'tmux',
    ['-S', join(t.town, 'run', 'tmux.sock'), 'capture-pane', '-p', '-J', '-t', `=${session}:`],
    { encoding: 'utf8' },
  );
}

export function agentLogHas(t: SessionTown, event: string, issue: string): boolean {
  try {
    return readFileSync(t.agentLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .some((l) => {
        const e = JSON.parse(l) as { event: string; issue?: string };
        return e.event === event && e.issue === issue;
      });
  } catch {
    return false;
  }
}

export function stateOf(t: SessionTown, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(polecatHome(t, name), 'state.json'), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** Plant a mail line straight into an inbox (what a late message from an old session leaves). */
export function plantMail(home: string, mail: Record<string, unknown>): void {
  mkdirSync(join(home, 'mail'), { recursive: true });
  appendFileSync(join(home, 'mail', 'inbox.jsonl'), `${JSON.stringify(mail)}\n`);
}

export async function doctorJson(
  t: SessionTown,
  fix = false,
): Promise<{
  fixed: string[];
  findings: Array<{ check: string; status: string; message: string }>;
}> {
  const r = await gt(['doctor', '--json', ...(fix ? ['--fix'] : [])], { env: t.env });
  expect(r.stdout, r.stderr).not.toBe('');
  return JSON.parse(r.stdout) as {
    fixed: string[];
    findings: Array<{ check: string; status: string; message: string }>;
  };
}
