/**
 * Doctor checks for the files the product reads that no other check covers: agent settings
 * (town `config/agents.json`, `<rig>/agents.json`), the witness's `<rig>/witness/patrol.json`,
 * `<rig>/polecats/.epoch`, swarm records (`swarms/*.json`) and every inbox's lines. Each broken
 * file is an error naming the file and field (what every command that reads it would say).
 * Repairs only where nothing is lost: patrol.json is set aside (the witness starts a fresh
 * memory), bad inbox lines move to `inbox.corrupt.jsonl` byte for byte. Agent settings, swarm
 * records and the epoch counter are for a human to fix: the hint says how.
 */
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { ZodType } from 'zod';
import { errorMessage, parseJsonText } from '../proto/index.js';
import { AgentSettingsSchema } from './agents/index.js';
import { Mailbox } from './mail/index.js';
import { rigAgentsFile, townAgentsFile } from './sessions/index.js';
import { SwarmRecordSchema, swarmsDir } from './swarms/index.js';
import {
  rigAgents,
  rigPaths,
  townPaths,
  type DoctorCheck,
  type DoctorProblem,
} from './town/index.js';
import { PatrolRecordSchema, patrolRecordPath } from './witness/index.js';

/** The file's problem through its schema (file: field: problem), or undefined if fine/absent. */
function fileProblem<T>(file: string, schema: ZodType<T>): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    parseJsonText(file, readFileSync(file, 'utf8'), schema);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

function setAside(file: string): string {
  const aside = `${file}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, aside);
  return aside;
}

function settingsProblem(file: string): DoctorProblem[] {
  const problem = fileProblem(file, AgentSettingsSchema);
  if (problem === undefined) return [];
  return [
    {
      status: 'error',
      message: `${problem} (every spawn and agent start reads it)`,
      hint: `fix the named field in ${file} by hand (its presets are yours: gt does not rewrite them), or move the file away to use the built-in presets`,
    },
  ];
}

const townAgentSettings: DoctorCheck = {
  id: 'agent-settings',
  scope: 'workspace',
  title: 'config/agents.json (agent presets) is valid or absent',
  run: ({ townRoot }) => Promise.resolve(settingsProblem(townAgentsFile(townRoot))),
};

const swarmRecords: DoctorCheck = {
  id: 'swarm-records',
  scope: 'workspace',
  title: 'every swarm record is readable',
  run({ townRoot }) {
    const dir = swarmsDir(townRoot);
    if (!existsSync(dir)) return Promise.resolve([]);
    const problems: DoctorProblem[] = [];
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
      const file = join(dir, name);
      const problem = fileProblem(file, SwarmRecordSchema);
      if (problem !== undefined)
        problems.push({
          status: 'error',
          message: `${problem} (\`gt swarm list\` and the witness's swarm duties read every record)`,
          hint: `fix the named field in ${file} by hand, or move the file out of ${dir} to forget that swarm (its issues and polecats are not touched)`,
        });
    }
    return Promise.resolve(problems);
  },
};

const rigFiles: DoctorCheck = {
  id: 'rig-files',
  scope: 'rig',
  title: 'agents.json, witness/patrol.json and polecats/.epoch are valid or absent',
  run({ townRoot, rig }) {
    if (rig === undefined) return Promise.resolve([]);
    const problems = settingsProblem(rigAgentsFile(townRoot, rig));
    const patrol = patrolRecordPath(townRoot, rig);
    const patrolProblem = fileProblem(patrol, PatrolRecordSchema);
    if (patrolProblem !== undefined)
      problems.push({
        status: 'error',
        message: `${patrolProblem} (every witness patrol of ${rig} stops on it)`,
        hint: '`gt doctor --fix` sets it aside (patrol.json.broken-<time>); the witness starts a fresh record, forgetting nudge counts and escalations already sent',
        repair: () => Promise.resolve(`set ${patrol} aside as ${setAside(patrol)}`),
      });
    const epoch = join(rigPaths(townRoot, rig).polecatsDir, '.epoch');
    if (existsSync(epoch)) {
      const text = readFileSync(epoch, 'utf8').trim();
      if (!/^[1-9][0-9]*$/.test(text))
        problems.push({
          status: 'error',
          message: `${epoch}: unreadable: "${text.slice(0, 40)}" is not a spawn epoch (a positive whole number)`,
          hint: `write the highest epoch of ${rig}'s polecats into it (\`gt polecats ${rig} --json\` shows each one's epoch)`,
        });
    }
    return Promise.resolve(problems);
  },
};

async function inboxProblems(home: string): Promise<DoctorProblem[]> {
  const mailbox = new Mailbox({ home });
  const { warnings } = await mailbox.scan();
  if (warnings.length === 0) return [];
  const lines = warnings.map((w) => `line ${w.line}: ${w.problem}`);
  return [
    {
      status: 'error',
      message: `${mailbox.path}: ${warnings.length} unreadable line(s) (skipped by every reader): ${lines.slice(0, 3).join('; ')}${lines.length > 3 ? '; …' : ''}`,
      hint: `\`gt doctor --fix\` moves them byte for byte to ${mailbox.corruptPath}, for a human to read`,
      repair: async () => {
        await mailbox.markRead([]);
        return `moved ${warnings.length} unreadable line(s) of ${mailbox.path} to ${mailbox.corruptPath}`;
      },
    },
  ];
}

const townInbox: DoctorCheck = {
  id: 'inbox-lines',
  scope: 'workspace',
  title: "every line of the Mayor's inbox is a mail record",
  run: ({ townRoot }) => inboxProblems(townPaths(townRoot).mayorHome),
};

const rigInboxes: DoctorCheck = {
  id: 'inbox-lines',
  scope: 'rig',
  title: "every line of the rig's inboxes is a mail record",
  async run({ townRoot, rig }) {
    if (rig === undefined) return [];
    const problems: DoctorProblem[] = [];
    for (const agent of rigAgents(townRoot, rig))
      if (existsSync(agent.home)) problems.push(...(await inboxProblems(agent.home)));
    return problems;
  },
};

export const FILE_CHECKS: readonly DoctorCheck[] = [
  townAgentSettings,
  swarmRecords,
  townInbox,
  rigFiles,
  rigInboxes,
];
