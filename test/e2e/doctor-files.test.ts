// Every file a realistic town holds after a spawn, mail, a swarm and a patrol is covered by
// gt doctor: each one corrupted in turn makes doctor fail (exit 1) naming that file. A new kind
// of file fails this test until a check covers it (or it is listed below as never read back).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gt } from '../helpers/cli.js';
import { createIssue, makeSessionTown, spawn, type SessionTown } from './sessions-helpers.js';
import { makePlugin, patrol, setWitnessConfig } from './witness-helpers.js';

interface Finding {
  check: string;
  status: string;
  message: string;
  hint?: string;
  fixable: boolean;
}

let t: SessionTown;

beforeAll(async () => {
  t = await makeSessionTown('gt-docf-');
  setWitnessConfig(t, { nudge_interval_ms: 3_600_000, stuck_timeout_ms: 3_600_000 });
  // A rig-level preset file beside the town's (which makeSessionTown wrote).
  writeFileSync(join(t.town, t.rig, 'agents.json'), JSON.stringify({ presets: {} }));
  makePlugin(t, 'merge-oracle');
  const solo = await createIssue(t, 'Solo work');
  const s = await spawn(t, solo, 'echo');
  const swarmIssues = [await createIssue(t, 'Swarm one'), await createIssue(t, 'Swarm two')];
  const swarm = await gt(
    ['swarm', 'start', t.rig, '--issues', swarmIssues.join(','), '--agent', 'echo'],
    { env: t.env },
  );
  expect(swarm.code, swarm.stderr).toBe(0);
  const mail: Array<[string, string]> = [
    ['mayor', 'to the mayor'],
    [s.address, 'to the polecat'],
    [`${t.rig}/witness`, 'to the witness'],
    [`${t.rig}/plugins/merge-oracle`, 'to the plugin'],
  ];
  for (const [to, subject] of mail)
    expect((await gt(['send', to, '-s', subject, '-m', 'body'], { env: t.env })).code).toBe(0);
  await patrol(t);
  expect((await gt(['stop', '--all'], { env: t.env })).code).toBe(0);
}, 300_000);

afterAll(async () => {
  await gt(['stop', '--all'], { env: t.env });
  await t.cleanup();
});

/** Files gt writes but never reads back, or reads as free text (no shape to break). */
const NOT_READ_BACK = [
  /(^|\/)CLAUDE\.md$/, // role prompts: free text for the agent
  /(^|\/)journal\.jsonl$/, // the refinery's append-only journal, for humans
  /(^|\/)inbox\.corrupt\.jsonl$/, // the sidecar of bad inbox lines, for humans
  /(^|\/)\.beads\/\.gitignore$/, // read by git only
  /(^|\/)\.beads\/beads\.db-(wal|shm)$/, // SQLite's own journal, checked with the database
];

/**
 * Every file of the town outside git clones and run/ (runtime), the rigs' `.beads/` included. A
 * polecat home is a clone holding gt's files (state.json, mail/): those are included.
 */
function townFiles(dir: string, root = dir): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  if (dir !== root && entries.some((e) => e.name === '.git'))
    return entries.flatMap((e) =>
      e.name === 'state.json'
        ? [join(dir, e.name)]
        : e.name === 'mail' && e.isDirectory()
          ? townFiles(join(dir, e.name), root)
          : [],
    );
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    const rel = relative(root, path);
    if (e.isDirectory()) return rel === 'run' || e.name === 'bin' ? [] : townFiles(path, root);
    return NOT_READ_BACK.some((re) => re.test(rel)) ? [] : [path];
  });
}

function corrupted(file: string, bytes: Buffer): string | Buffer {
  const text = bytes.toString('utf8');
  if (file.endsWith('.jsonl')) return `${text}{"torn": \n`;
  if (file.endsWith('.json')) return text.slice(0, Math.floor(text.length / 2));
  if (file.endsWith('/.epoch')) return 'garbage\n';
  if (file.endsWith('.yaml')) return 'garbage\n';
  // A database cut short: SQLite's header promises pages that are not there.
  if (file.endsWith('.db')) return bytes.subarray(0, Math.floor(bytes.length / 2));
  throw new Error(`${file}: no corruption for this kind of file: does doctor check it?`);
}

async function doctor(): Promise<{ code: number; findings: Finding[] }> {
  const r = await gt(['doctor', '--json'], { env: t.env });
  return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: Finding[] }).findings };
}

describe('gt doctor covers every file the product reads', () => {
  it('each file of a realistic town, corrupted in turn, is reported by name (exit 1)', async () => {
    const clean = await doctor();
    expect(clean.findings.filter((f) => f.status === 'error')).toEqual([]);
    expect(clean.code).toBe(0);
    const files = townFiles(t.town);
    // The realistic town has each kind: town and rig files, agent homes, swarm, patrol, epoch.
    const rels = files.map((f) => relative(t.town, f));
    for (const kind of [
      'config/town.json',
      'config/rigs.json',
      'config/agents.json',
      'alpha/agents.json',
      'alpha/config.json',
      'alpha/witness/patrol.json',
      'alpha/polecats/.epoch',
      'mayor/mail/inbox.jsonl',
      'mayor/state.json',
      'alpha/.beads/issues.jsonl',
      'alpha/.beads/config.yaml',
      'alpha/.beads/beads.db',
    ])
      expect(rels).toContain(kind);
    expect(rels.some((r) => r.startsWith('mayor/swarms/') && r.endsWith('.json'))).toBe(true);
    expect(rels.some((r) => /^alpha\/polecats\/[^/]+\/mail\/inbox\.jsonl$/.test(r))).toBe(true);
    expect(rels.some((r) => /^alpha\/plugins\/merge-oracle\//.test(r))).toBe(true);

    const missed: string[] = [];
    for (const file of files) {
      const text = readFileSync(file);
      writeFileSync(file, corrupted(file, text));
      try {
        const r = await doctor();
        const named = r.findings.filter((f) => f.status === 'error' && f.message.includes(file));
        if (r.code !== 1 || named.length === 0)
          missed.push(`${relative(t.town, file)} (exit ${r.code})`);
        for (const f of r.findings) expect(f.message).not.toContain('the check itself failed');
      } finally {
        writeFileSync(file, text);
      }
    }
    expect(missed).toEqual([]);
    expect((await doctor()).code).toBe(0);
  }, 900_000); // one full doctor run per file of the town

  it('a lock a killed spawn left under polecats/ is reported and removed by --fix', async () => {
    const lock = join(t.town, t.rig, 'polecats', '.epoch.lock');
    writeFileSync(lock, `${spawnSync('true').pid}@${hostname()}`);
    const r = await doctor();
    expect(r.findings.filter((f) => f.message.includes(lock))).toEqual([
      expect.objectContaining({ check: 'stale-locks', status: 'warning', fixable: true }),
    ]);
    const fixed = await gt(['doctor', '--fix'], { env: t.env });
    expect(fixed.stdout).toContain(`removed stale lock ${lock}`);
    expect(existsSync(lock)).toBe(false);
  });

  it("a beads config.yaml without its prefix is rewritten by --fix with the rig's prefix, the old one kept", async () => {
    const yaml = join(t.town, t.rig, '.beads', 'config.yaml');
    const before = readFileSync(yaml, 'utf8');
    writeFileSync(yaml, 'garbage\n');
    try {
      const r = await doctor();
      expect(r.findings.filter((f) => f.message.includes(yaml))).toEqual([
        expect.objectContaining({ check: 'rig-beads-files', status: 'error', fixable: true }),
      ]);
      const fixed = await gt(['doctor', '--fix'], { env: t.env });
      expect(fixed.stdout).toContain(`rewrote ${yaml}`);
      expect(readFileSync(yaml, 'utf8')).toBe(before);
      const dir = join(t.town, t.rig, '.beads');
      const aside = readdirSync(dir).filter((n) => n.startsWith('config.yaml.broken-'));
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(dir, aside[0] ?? ''), 'utf8')).toBe('garbage\n');
    } finally {
      writeFileSync(yaml, before);
    }
  });
});
