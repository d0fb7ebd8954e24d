/**
 * Agent home checks: every home (mayor, witness, refinery, polecats, plugins) has its CLAUDE.md,
 * mail/inbox.jsonl and state.json. Missing files are recreated on --fix; a broken state.json is
 * reported, never overwritten.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, readJsonFile } from '../../proto/index.js';
import { rigFacts } from './doctor-rig-facts.js';
import type { DoctorCheck, DoctorProblem } from './doctor-types.js';
import { agentHomeFiles, rigPaths, writeAgentHome } from './layout.js';
import { AgentStateSchema } from './schemas.js';
import type { TemplateFacts, TemplateRole } from './templates.js';

/** Missing CLAUDE.md / mailbox / state (repairable) and a broken state.json (not) of one home. */
export async function agentFileProblems(
  home: string,
  template: TemplateRole,
  facts: TemplateFacts,
): Promise<DoctorProblem[]> {
  const files = agentHomeFiles(home);
  const recreate = (only: Array<'claudeMd' | 'inbox' | 'state'>) => async () => {
    const made = await writeAgentHome({ home, template, facts, only });
    return `created ${made.join(', ')}`;
  };
  if (!existsSync(home))
    return [
      {
        status: 'error',
        message: `agent home ${home} is missing`,
        hint: 'run `gt doctor --fix` to recreate it with its CLAUDE.md, empty mailbox and idle state',
        repair: recreate(['claudeMd', 'inbox', 'state']),
      },
    ];
  const problems: DoctorProblem[] = [];
  if (!existsSync(files.inbox))
    problems.push({
      status: 'error',
      message: `mailbox ${files.inbox} is missing (mail to this agent cannot be delivered)`,
      hint: 'run `gt doctor --fix` to recreate an empty mailbox',
      repair: recreate(['inbox']),
    });
  // The seed makes a plugin's state.json optional.
  if (!existsSync(files.state) && template !== 'plugin')
    problems.push({
      status: 'error',
      message: `state file ${files.state} is missing`,
      hint: 'run `gt doctor --fix` to write an idle state',
      repair: recreate(['state']),
    });
  else if (existsSync(files.state)) {
    const bad = await readJsonFile(files.state, AgentStateSchema).then(
      () => undefined,
      (err: unknown) => errorMessage(err),
    );
    if (bad !== undefined)
      problems.push({
        status: 'error',
        message: bad,
        hint: `fix the named field, or delete ${files.state} and run \`gt doctor --fix\` to write an idle state`,
      });
  }
  if (!existsSync(files.claudeMd))
    problems.push({
      status: 'warning',
      message: `role prompt ${files.claudeMd} is missing`,
      hint: 'run `gt doctor --fix` to write the role prompt template',
      repair: recreate(['claudeMd']),
    });
  return problems;
}

function namedHomes(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name);
}

const agentHomes: DoctorCheck = {
  id: 'agent-homes',
  scope: 'rig',
  title: 'witness, refinery and mayor homes are present with mailbox and state',
  async run(ctx) {
    const f = await rigFacts(ctx);
    const paths = rigPaths(ctx.townRoot, f.rig);
    const facts = { town: f.town, rig: f.rig, prefix: f.prefix };
    const witness = await agentFileProblems(paths.witnessHome, 'witness', facts);
    // A satellite's only agent home besides its polecats is the witness (its patrol runs here).
    if (ctx.satelliteOf !== undefined) return witness;
    return [
      ...witness,
      ...(await agentFileProblems(paths.refineryHome, 'refinery', facts)),
      ...(await agentFileProblems(paths.mayorHome, 'rig-mayor', facts)),
    ];
  },
};

const workerHomes: DoctorCheck = {
  id: 'worker-homes',
  scope: 'rig',
  title: 'every polecat and plugin home has its mailbox and state',
  async run(ctx) {
    const f = await rigFacts(ctx);
    const paths = rigPaths(ctx.townRoot, f.rig);
    const facts = { town: f.town, rig: f.rig, prefix: f.prefix };
    const problems: DoctorProblem[] = [];
    // Plugins run on the rig's home; a satellite holds polecats only.
    const dirs =
      ctx.satelliteOf === undefined ? [paths.polecatsDir, paths.pluginsDir] : [paths.polecatsDir];
    for (const dir of dirs)
      if (!existsSync(dir))
        problems.push({
          status: 'warning',
          message: `${dir} is missing`,
          hint: 'run `gt doctor --fix` to create the empty folder',
          repair: () => {
            mkdirSync(dir, { recursive: true });
            return Promise.resolve(`created ${dir}`);
          },
        });
    for (const name of namedHomes(paths.polecatsDir))
      problems.push(
        ...(await agentFileProblems(join(paths.polecatsDir, name), 'polecat', { ...facts, name })),
      );
    for (const name of namedHomes(paths.pluginsDir))
      problems.push(
        ...(await agentFileProblems(join(paths.pluginsDir, name), 'plugin', { ...facts, name })),
      );
    return problems;
  },
};

export const HOME_CHECKS: readonly DoctorCheck[] = [agentHomes, workerHomes];
