// The README's main job: `gt demo` runs a real swarm end to end on the embedded local default.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gt, gtJson } from '../helpers/cli.js';
import { git } from '../helpers/git.js';
import { tempDir } from '../helpers/tmp.js';

describe('gt demo', () => {
  it('swarms on sample issues until the Refinery has merged every one onto main', async () => {
    const base = tempDir('gt-demo-');
    const r = await gt(['demo', base, '--issues', '3'], { timeoutMs: 240_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/scripted demo agent \(a stand-in for an AI agent/);
    expect(r.stdout).toMatch(/issues closed \(merged by the Refinery\): 3 of 3/);
    const log = git(join(base, 'sample-project.git'), 'log', '--format=%s', 'main');
    expect(log.split('\n').filter((s) => s.startsWith('Merge polecat/'))).toHaveLength(3);
    let sessions = '';
    try {
      sessions = execFileSync(
        'tmux',
        ['-S', join(base, 'town', 'run', 'tmux.sock'), 'list-sessions', '-F', '#{session_name}'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
    } catch {
      /* no server left: no sessions */
    }
    expect(sessions.trim()).toBe('');
    // The merge of the last issue recorded the swarm complete: no later patrol is needed.
    const env = { GT_TOWN: join(base, 'town') };
    const swarms = await gtJson<{ swarms: Array<{ id: string; state: string; settled: number }> }>(
      ['swarm', 'list'],
      { env },
    );
    expect(swarms.swarms.map((s) => [s.state, s.settled])).toEqual([['complete', 3]]);
    const id = swarms.swarms[0]?.id ?? '';
    expect(r.stdout).toContain(`swarm ${id}: complete, 3/3 settled`);
    expect((await gt(['swarm', 'list'], { env })).stdout).toMatch(
      new RegExp(`${id}\\s+sample\\s+complete\\s+3/3`),
    );
    const inbox = await gtJson<{ messages: Array<{ subject: string; body: string }> }>(
      ['inbox', '--as', 'mayor'],
      { env },
    );
    const complete = inbox.messages.filter((m) => m.subject === `Swarm complete: ${id}`);
    expect(complete).toHaveLength(1);
    expect(complete[0]?.body).toMatch(/is complete: 3 issue\(s\)/);
  });
});
