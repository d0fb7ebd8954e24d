/**
 * Doctor checks for a rig's issue tracker files: `.beads/issues.jsonl` (the shared record every bd
 * command imports when it changed), `.beads/config.yaml` (the issue prefix) and `.beads/beads.db`
 * (the SQLite index). Each broken file is an error naming it, with what every bd command would say.
 * Only config.yaml is repaired (rewritten with the rig's prefix, the old one set aside): the other
 * two hold issues, so the hint says how to recover without losing any.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, writeFileAtomic } from '../proto/index.js';
import { DB_FILE, JSONL_FILE, databaseProblem, parseJsonl } from './beads/index.js';
import { rigFacts, rigPaths, type DoctorCheck, type DoctorProblem } from './town/index.js';

const PREFIX_LINE = /^issue-prefix:\s*"?([^"\s]+)"?\s*$/m;

function jsonlProblems(beadsDir: string): DoctorProblem[] {
  const file = join(beadsDir, JSONL_FILE);
  if (!existsSync(file)) return [];
  try {
    parseJsonl(readFileSync(file, 'utf8'), file);
    return [];
  } catch (err) {
    return [
      {
        status: 'error',
        message: `${errorMessage(err)} (no issue of this rig can be read or written until it is fixed)`,
        hint: `repair or remove that line by hand; or, to keep what the database holds, move ${file} aside and run \`bd export\` with BEADS_DIR=${beadsDir} to write it afresh`,
      },
    ];
  }
}

function configProblems(beadsDir: string, prefix: string): DoctorProblem[] {
  const file = join(beadsDir, 'config.yaml');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  if (PREFIX_LINE.test(text)) return [];
  return [
    {
      status: 'error',
      message: `${file}: no "issue-prefix:" line (a database rebuilt from issues.jsonl would not know the rig's prefix "${prefix}")`,
      hint: `\`gt doctor --fix\` rewrites it as "issue-prefix: ${prefix}" and keeps the old file beside it (config.yaml.broken-<time>)`,
      repair: async () => {
        const aside = `${file}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        renameSync(file, aside);
        await writeFileAtomic(file, `issue-prefix: ${prefix}\n`);
        return `rewrote ${file} with prefix "${prefix}" (the old one is ${aside})`;
      },
    },
  ];
}

function databaseProblems(beadsDir: string): DoctorProblem[] {
  const file = join(beadsDir, DB_FILE);
  if (!existsSync(file)) return [];
  const problem = databaseProblem(file);
  if (problem === undefined) return [];
  return [
    {
      status: 'error',
      message: `${file}: unreadable: ${problem} (no issue of this rig can be read or written until it is fixed)`,
      hint: `stop the agents of this rig, move ${file} (and any ${DB_FILE}-wal, ${DB_FILE}-shm beside it) aside: the database is rebuilt from ${JSONL_FILE}`,
    },
  ];
}

const rigBeadsFiles: DoctorCheck = {
  id: 'rig-beads-files',
  scope: 'rig',
  homeOnly: true,
  title: '.beads/issues.jsonl, config.yaml and beads.db are readable',
  rootCause: true,
  async run(ctx) {
    if (ctx.rig === undefined) return [];
    const beadsDir = rigPaths(ctx.townRoot, ctx.rig).beadsDir;
    if (!existsSync(beadsDir)) return []; // rig-beads reports (and --fix creates) it
    const { prefix } = await rigFacts(ctx);
    return [
      ...jsonlProblems(beadsDir),
      ...configProblems(beadsDir, prefix),
      ...databaseProblems(beadsDir),
    ];
  },
};

export const BEADS_CHECKS: readonly DoctorCheck[] = [rigBeadsFiles];
