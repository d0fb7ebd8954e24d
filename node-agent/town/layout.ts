/**
 * Where things live in a town (the seed's layout is the contract) and how an agent home is made.
 *
 *   <town>/config/{town,rigs,federation}.json   <town>/mayor/{CLAUDE.md,mail/inbox.jsonl,state.json}
 *   <town>/run/                                  runtime: sockets, pid files, daemon logs
 *   <town>/<rig>/config.json  .beads/  refinery/rig  mayor/rig  witness/  polecats/<name>  plugins/<name>
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../proto/index.js';
import { idleState, type AgentRole } from './schemas.js';
import { rolePrompt, type TemplateFacts, type TemplateRole } from './templates.js';

export interface TownPaths {
  root: string;
  configDir: string;
  townJson: string;
  rigsJson: string;
  federationJson: string;
  mayorHome: string;
  runDir: string;
}

export function townPaths(root: string): TownPaths {
  const configDir = join(root, 'config');
  return {
    root,
    configDir,
    townJson: join(configDir, 'town.json'),
    rigsJson: join(configDir, 'rigs.json'),
    federationJson: join(configDir, 'federation.json'),
    mayorHome: join(root, 'mayor'),
    runDir: join(root, 'run'),
  };
}

export interface RigPaths {
  root: string;
  configJson: string;
  beadsDir: string;
  refineryHome: string;
  refineryClone: string;
  mayorHome: string;
  mayorClone: string;
  witnessHome: string;
  polecatsDir: string;
  pluginsDir: string;
}

export function rigPaths(townRoot: string, rig: string): RigPaths {
  const root = join(townRoot, rig);
  return {
    root,
    configJson: join(root, 'config.json'),
    beadsDir: join(root, '.beads'),
    refineryHome: join(root, 'refinery'),
    refineryClone: join(root, 'refinery', 'rig'),
    mayorHome: join(root, 'mayor'),
    mayorClone: join(root, 'mayor', 'rig'),
    witnessHome: join(root, 'witness'),
    polecatsDir: join(root, 'polecats'),
    pluginsDir: join(root, 'plugins'),
  };
}

export interface AgentHomeFiles {
  claudeMd: string;
  inbox: string;
  state: string;
}

export function agentHomeFiles(home: string): AgentHomeFiles {
  return {
    claudeMd: join(home, 'CLAUDE.md'),
    inbox: join(home, 'mail', 'inbox.jsonl'),
    state: join(home, 'state.json'),
  };
}

export function stateRoleOf(template: TemplateRole): AgentRole {
  return template === 'rig-mayor' ? 'mayor' : template;
}

export interface WriteAgentHomeOptions {
  home: string;
  template: TemplateRole;
  facts: TemplateFacts;
  /** Which files to write when they are missing (default: all three). */
  only?: ReadonlyArray<keyof AgentHomeFiles>;
}

const AGENT_FILES_EXCLUDE = '\n# Gas Town agent files\n/CLAUDE.md\n/mail/\n/state.json\n';

/**
 * Create an agent home's CLAUDE.md, mail/inbox.jsonl and state.json where missing (never
 * overwrites). When the home is itself a git clone (a polecat), the files are excluded from git so
 * they never make the clone dirty. Returns the paths it created.
 */
export async function writeAgentHome(options: WriteAgentHomeOptions): Promise<string[]> {
  const files = agentHomeFiles(options.home);
  const want = new Set(options.only ?? ['claudeMd', 'inbox', 'state']);
  const created: string[] = [];
  mkdirSync(join(options.home, 'mail'), { recursive: true });
  if (want.has('claudeMd') && !existsSync(files.claudeMd)) {
    await writeFileAtomic(files.claudeMd, rolePrompt(options.template, options.facts));
    created.push(files.claudeMd);
  }
  if (want.has('inbox') && !existsSync(files.inbox)) {
    await writeFileAtomic(files.inbox, '');
    created.push(files.inbox);
  }
  if (want.has('state') && !existsSync(files.state)) {
    await writeJsonAtomic(files.state, idleState(stateRoleOf(options.template)));
    created.push(files.state);
  }
  excludeAgentFilesFromGit(options.home);
  return created;
}

function excludeAgentFilesFromGit(home: string): void {
  const gitDir = join(home, '.git');
  // A .git *file* (worktree, submodule) has its exclude elsewhere; plain clones are what we make.
  if (!existsSync(gitDir) || !statSync(gitDir).isDirectory()) return;
  const exclude = join(gitDir, 'info', 'exclude');
  mkdirSync(join(gitDir, 'info'), { recursive: true });
  const current = existsSync(exclude) ? readFileSync(exclude, 'utf8') : '';
  if (!current.includes('# Gas Town agent files')) appendFileSync(exclude, AGENT_FILES_EXCLUDE);
}
