// Many agents at once: no lost write, no duplicate id, JSONL equals the database; one claim wins.
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import { bdAsync, bdJson, initProject, readJsonl } from './bd-helper.js';

type Issue = Record<string, unknown> & { id: string; title: string; status: string };

describe('bd under concurrency (real processes, one SQLite)', () => {
  it('20 processes creating and updating at once lose nothing', async () => {
    const dir = initProject(tempDir('bd-'), 'cc');
    const seeds = [0, 1, 2, 3].map((n) => bdJson<Issue>(dir, ['create', `seed ${n}`]).id);
    const jobs = Array.from({ length: 20 }, (_, n) => {
      const env = { BD_ACTOR: `agent-${n}` };
      if (n % 2 === 0) return bdAsync(dir, ['create', `parallel ${n}`, '--json'], { env });
      const seed = seeds[n % seeds.length] as string;
      return bdAsync(dir, ['update', seed, '--add-label', `agent-${n}`, '--json'], { env });
    });
    const results = await Promise.all(jobs);
    for (const r of results) expect(r.stderr).toBe('');
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));

    const all = bdJson<Issue[]>(dir, ['list', '-n', '0']);
    const ids = all.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(all).toHaveLength(4 + 10);
    for (let n = 0; n < 20; n += 2) expect(all.map((i) => i.title)).toContain(`parallel ${n}`);
    // every label added by an updater survived (no lost update)
    const labels = all.flatMap((i) => (i.labels as string[] | undefined) ?? []);
    for (let n = 1; n < 20; n += 2) expect(labels).toContain(`agent-${n}`);
    // the JSONL on disk equals the database
    const byId = (list: Record<string, unknown>[]) =>
      [...list].sort((a, b) => String(a.id).localeCompare(String(b.id)));
    expect(byId(readJsonl(dir))).toEqual(
      byId(bdJson<Issue[]>(dir, ['list', '-s', 'all', '-n', '0'])),
    );
  });

  it('10 processes claiming one issue: exactly one winner', async () => {
    const dir = initProject(tempDir('bd-'), 'cc');
    const issue = bdJson<Issue>(dir, ['create', 'the prize']);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        bdAsync(dir, ['update', issue.id, '--claim', '--json'], {
          env: { BD_ACTOR: `agent-${n}` },
        }),
      ),
    );
    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code !== 0);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(9);
    const winner = (JSON.parse(winners[0]?.stdout ?? '[]') as Issue[])[0];
    expect(winner?.status).toBe('in_progress');
    for (const loser of losers) {
      expect(loser.code).toBe(1);
      expect(loser.stderr).toContain(
        `error: ${issue.id} is already claimed by ${String(winner?.assignee)}`,
      );
    }
    expect(readJsonl(dir).find((r) => r.id === issue.id)).toMatchObject({
      assignee: winner?.assignee,
      status: 'in_progress',
    });
  });
});
