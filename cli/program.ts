/** The gt command tree (commander). Each action imports its implementation lazily. */
import { Command, CommanderError, Option } from 'commander';
import { registerGitIdentityCommands } from './commands/git-identity.js';
import { registerMachineAddCommands } from './commands/machine-add.js';
import { registerMachineGcpCommands } from './commands/machine-gcp.js';
import { registerMachineTemplateCommands } from './commands/machine-template.js';
import { machineCommand } from './commands/machines.js';
import { reportError } from './errors.js';
import { terminalText } from './output.js';

export interface GlobalOptions {
  town?: string;
  verbose?: boolean;
  debug?: boolean;
}

type Action = (...args: unknown[]) => Promise<void>;

/** Wrap a lazily-imported action; the command's globals are merged into its options. */
function lazy(load: () => Promise<Action>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const action = await load();
    await action(...args);
  };
}

/** `version`: package.json's (GT_VERSION; gt.ts passes it so start-up loads no proto code). */
export function buildProgram(version: string): Command {
  const program = new Command('gt')
    .description('Gas Town: run swarms of AI coding agents across a fleet of machines')
    .version(`gt ${version}`, '-V, --version')
    .option('--town <path>', 'town root (default: $GT_TOWN, else found from the current directory)')
    .option(
      '-v, --verbose',
      'log what happens (to stderr), and say which process served the command',
    )
    .option('--debug', 'show stack traces for internal errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(terminalText(s)) });

  program
    .command('install')
    .description('create a town at [path] (default: current directory)')
    .argument('[path]', 'where to create the town', '.')
    .option('--name <name>', 'town name (default: the directory name)')
    .option('--force', 're-install over an existing town (keeps its rigs)')
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./commands/town.js')).install));

  const rig = program
    .command('rig')
    .description('add or remove rigs (managed project repositories)');
  rig
    .command('add')
    .description('add a rig: a container with refinery, mayor and polecat clones of <git_url>')
    .argument('<name>', 'rig name')
    .argument('<git_url>', 'repository: local path, file:// URL or ssh URL')
    .option('--prefix <prefix>', 'beads issue id prefix (default: derived from the name)')
    .option('--machine <machine>', 'machine that homes the rig (default: local)')
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./commands/rigs.js')).rigAdd));
  rig
    .command('remove')
    .description('remove a rig (refuses when a clone has unpushed or uncommitted work)')
    .argument('<name>', 'rig name')
    .option('--force', 'remove even with unpushed or uncommitted work')
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./commands/rigs.js')).rigRemove));

  machineCommand(program);

  program
    .command('rigs')
    .description('list rigs')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await import('./commands/rigs.js')).rigs));

  program
    .command('status')
    .description('town, machines, rigs, agents and their states')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await import('./commands/town.js')).status));

  program
    .command('doctor')
    .description('check workspace, rig and swarm health')
    .option('--fix', 'repair what can be repaired safely, and say what was done')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await import('./commands/doctor.js')).doctor));

  program
    .command('prime')
    .description('print the role context for the current directory')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await import('./commands/town.js')).prime));

  const sessions = async () => import('./commands/sessions.js');
  program
    .command('spawn')
    .description(
      'start a polecat on an issue: claim it, clone, branch, start the agent, deliver the work',
    )
    .argument('[rig]', 'rig (default: $GT_RIG)')
    .requiredOption('--issue <id>', 'beads issue to assign')
    .option('--name <name>', 'polecat name (default: an idle polecat or the next name of the pool)')
    .option(
      '--agent <preset>',
      'agent preset: claude, codex, gemini, aider or one defined in agents.json',
    )
    .option(
      '--machine <name>',
      "machine to run the polecat on (default: the rig's home while it has room, else the machine with the most room)",
    )
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await sessions()).spawn));
  program
    .command('polecats')
    .description('list the polecats of a rig: state, issue, session, activity')
    .argument('<rig>', 'rig name')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await sessions()).polecats));
  program
    .command('kill')
    .description("kill an agent's session (state stopped; its clone is kept)")
    .argument('<agent>', 'address: <rig>/<polecat>, <rig>/witness, ...')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await sessions()).kill));
  program
    .command('release')
    .description("give a stopped polecat's issue back to the queue (open, unassigned)")
    .argument('<polecat>', 'address: <rig>/<polecat>')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await sessions()).release));
  program
    .command('wake')
    .description('mark an agent active')
    .argument('<agent>', 'address')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await sessions()).wake));
  program
    .command('sleep')
    .description('mark an agent inactive (not given work or nudged)')
    .argument('<agent>', 'address')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await sessions()).sleep));
  program
    .command('inject')
    .description("type a message into an agent's session (literal text, then Enter)")
    .argument('<agent>', 'address')
    .argument('<message>', 'text to type')
    .option('--no-enter', 'type the text without pressing Enter')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await sessions()).inject));
  program
    .command('capture')
    .description(
      "print an agent's pane, or run <command> in its shell session and print the output",
    )
    .argument('<agent>', 'address')
    .argument('[command]', 'shell command to run in the session')
    .option('--lines <n>', 'scrollback lines to include', '0')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await sessions()).capture));
  program
    .command('attach')
    .description(
      "an interactive terminal on an agent's session, on this machine or an ssh machine (detach: Ctrl-b d)",
    )
    .argument('<agent>', 'address: [machine:]<rig>/<polecat>, <rig>/witness, mayor, …')
    .action(lazy(async () => (await import('./commands/attach.js')).attach));
  program
    .command('stop')
    .description("emergency stop: kill every session (--all) or one rig's; reports unsaved work")
    .option('--all', 'every session of the town')
    .option('--rig <name>', "one rig's sessions")
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await sessions()).stop));
  program
    .command('done')
    .description(
      '(polecat) work finished: check clean + pushed, queue for the refinery, tell the witness',
    )
    .option(
      '--as <address>',
      'act as this agent (default: $GT_ADDRESS, else the current directory)',
    )
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await import('./commands/done.js')).done));
  program
    .command('handoff')
    .description(
      '(agent) mail a handoff note to self, restart the session fresh, prime it with the note',
    )
    .option('-m, --message <note>', 'the note: active work, pending decisions, warnings')
    .option(
      '--as <address>',
      'act as this agent (default: $GT_ADDRESS, else the current directory)',
    )
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await import('./commands/done.js')).handoff));

  const mqCommands = async () => import('./commands/mq.js');
  const mq = program
    .command('mq')
    .description("the Refinery's merge queue: one entry per finished polecat branch");
  mq.command('list')
    .description('entries in processing order (priority, then submission) and their overlap groups')
    .argument('[rig]', 'rig (default: $GT_RIG, else every rig)')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await mqCommands()).list));
  mq.command('status')
    .description('one entry: state, attempts, merged commit, conflicts, last error')
    .argument('<id>', 'entry (issue id), or <rig>/<id>')
    .option('--rig <rig>', 'rig of the entry (default: from the issue prefix)')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await mqCommands()).status));
  mq.command('retry')
    .description('queue a conflicted, rejected or interrupted entry again')
    .argument('<id>', 'entry (issue id), or <rig>/<id>')
    .option('--rig <rig>', 'rig of the entry (default: from the issue prefix)')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await mqCommands()).retry));
  program
    .command('refinery')
    .description('the Refinery: merge finished polecat branches into main')
    .command('process')
    .description(
      "merge queued entries: merge onto origin's main, run the rig's test_command, push, close the issue",
    )
    .argument('[rig]', 'rig (default: $GT_RIG, else every rig)')
    .option('--once', 'process at most one entry per rig')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await mqCommands()).processQueue));

  program
    .command('up')
    .description('start the town daemon (background loops, socket for gt)')
    .addOption(new Option('--status', 'report whether the daemon runs, and exit'))
    .option('--json', 'with --status: print as JSON')
    .action(lazy(async () => (await import('./commands/daemon.js')).up));

  program
    .command('dashboard')
    .description("print the URL of the Overseer's dashboard (served by `gt up`) and open it")
    .option('--no-open', 'print the URL only, never open a browser')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await import('./commands/dashboard.js')).dashboard));

  program
    .command('down')
    .description('stop the town daemon')
    .action(lazy(async () => (await import('./commands/daemon.js')).down));

  const asOption = (): Option =>
    new Option(
      '--as <address>',
      'act as this agent (default: $GT_ADDRESS, else the role of the current directory)',
    );
  program
    .command('send')
    .description(
      'send mail to an agent: mayor, <rig>/witness, <rig>/refinery, <rig>/<polecat>, <rig>/plugins/<name>, [machine:]…',
    )
    .argument('<address>', 'recipient address')
    .option('-s, --subject <subject>', 'subject line', '')
    .option('-m, --message <text>', 'message body; "-" reads it from stdin')
    .option(
      '--priority <priority>',
      'low | normal | high | urgent (high/urgent also type a notice into a live session)',
    )
    .option(
      '--type <type>',
      'task | handoff | escalation | nudge | done | lifecycle | notice | reply',
      'notice',
    )
    .addOption(asOption())
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./commands/mail.js')).send));
  program
    .command('inbox')
    .description(
      "list your inbox (the caller's identity: --as, $GT_ADDRESS, or the current directory's role)",
    )
    .option('--unread', 'only unread messages')
    .addOption(asOption())
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await import('./commands/mail.js')).inbox));
  const mail = program.command('mail').description('read, reply to and mark mail');
  mail
    .command('read')
    .description('show one message (by id or unique id prefix) and mark it read')
    .argument('<id>', 'message id or unique prefix')
    .option('--peek', 'do not mark it read')
    .addOption(asOption())
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await import('./commands/mail.js')).read));
  mail
    .command('reply')
    .description('reply to a message (same thread)')
    .argument('<id>', 'message id or unique prefix')
    .option('-m, --message <text>', 'reply body; "-" reads it from stdin')
    .option('-s, --subject <subject>', 'subject (default: Re: <original>)')
    .option('--priority <priority>', 'low | normal | high | urgent')
    .addOption(asOption())
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./commands/mail.js')).reply));
  mail
    .command('mark-read')
    .description('mark messages read')
    .argument('[ids...]', 'message ids or unique prefixes')
    .option('--all', 'mark every message read')
    .addOption(asOption())
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./commands/mail.js')).markRead));
  mail
    .command('outbox')
    .description('mail held for machines that could not be reached, and why')
    .option('--retry', 'try to deliver it now')
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./commands/mail.js')).outbox));

  const witness = async () => import('./commands/witness.js');
  program
    .command('witness')
    .description("the rig's Witness: polecat health, nudges, escalations, done cleanup")
    .command('patrol')
    .description('run one Witness patrol of <rig> (the loop runs under `gt up`)')
    .argument('<rig>', 'rig name')
    .option('--once', 'one patrol, then exit')
    .option('--json', 'print the report as JSON')
    .action(lazy(async () => (await witness()).patrol));
  const swarm = program
    .command('swarm')
    .description("the Mayor's swarms: dispatch work to polecats");
  swarm
    .command('start')
    .description('spawn polecats for issues of <rig> and record the swarm')
    .argument('<rig>', 'rig name')
    .option('--issues <ids>', 'comma-separated issue ids')
    .option('--ready <n>', 'take n ready issues (open, unassigned, unblocked)')
    .option('--max <n>', 'at most n polecats')
    .option('--agent <preset>', 'agent preset for the polecats')
    .option('--machines <names>', 'place polecats only on these machines (comma-separated)')
    .option(
      '--label <k=v>',
      'place polecats only on machines with this label (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--max-per-machine <n>', 'at most n new polecats on any one machine')
    .option(
      '--grow <gcp:template>',
      'when the fleet is short of room, create machines from this template (gt machine template add)',
    )
    .option('--max-machines <n>', 'with --grow: create at most n machines (default 1)')
    .option(
      '--shrink-after <duration>',
      'with --grow: delete a grown machine once the swarm is complete and it was idle this long (e.g. 10m)',
    )
    .option('--json', 'print the swarm as JSON')
    .action(lazy(async () => (await witness()).swarmStart));
  swarm
    .command('status')
    .description('per issue: polecat, state, beads status, merge state (default: active swarms)')
    .argument('[id]', 'swarm id')
    .option('--rig <rig>', 'only swarms of this rig')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await witness()).swarmStatus));
  swarm
    .command('list')
    .description('every swarm with its state')
    .option('--rig <rig>', 'only swarms of this rig')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await witness()).swarmList));
  swarm
    .command('cancel')
    .description("stop a swarm's sessions and release its claims")
    .argument('<id>', 'swarm id')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await witness()).swarmCancel));
  const plugins = async () => import('./commands/plugins.js');
  program
    .command('plugins')
    .description('list the plugins of <rig> (directories under <rig>/plugins/) and their sessions')
    .argument('<rig>', 'rig name')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await plugins()).plugins));
  const plugin = program
    .command('plugin')
    .description("a plugin's state and mail, and its agent session");
  plugin
    .command('status')
    .description('state, mail and session of one plugin')
    .argument('<plugin>', '<rig>/<name>')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await plugins()).pluginStatus));
  plugin
    .command('start')
    .description(
      "start the plugin's agent session (in its rig/ clone, else its home) and give it its first prompt",
    )
    .argument('<plugin>', '<rig>/<name>')
    .option(
      '--agent <preset>',
      'agent preset: claude, codex, gemini, aider or one defined in agents.json',
    )
    .option('--prompt <text>', 'first prompt (default: read your mail and act on each task)')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await plugins()).pluginStart));
  plugin
    .command('stop')
    .description("kill the plugin's session; state idle (mail and clone are kept)")
    .argument('<plugin>', '<rig>/<name>')
    .option('--json', 'print as JSON')
    .action(lazy(async () => (await plugins()).pluginStop));

  program
    .command('demo')
    .description(
      'run a demo swarm: a town with a sample rig and issues, polecats, witness and refinery (temp dir unless [path])',
    )
    .argument('[path]', 'where to create the demo town')
    .option(
      '--agent <preset>',
      'agent preset: demo (bundled scripted stand-in for an AI agent), claude, …',
      'demo',
    )
    .option('--issues <n>', 'how many issues to swarm on (1–5)', '3')
    .action(lazy(async () => (await import('./commands/demo.js')).demo));

  registerMachineAddCommands(program);
  registerMachineGcpCommands(program);
  registerMachineTemplateCommands(program);
  registerGitIdentityCommands(program);
  return program;
}

/** Run gt with argv; returns the exit code. The CLI's one top-level catch. */
export async function runGt(argv: string[], version: string): Promise<number> {
  const program = buildProgram(version);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const debug = argv.includes('--debug');
    if (e instanceof CommanderError) return reportError(e, debug);
    return reportError(e, debug);
  }
}
