// One bd command against a local beads directory: context from the caller, commander's parse,
// errors to exit codes (0 ok, 1 failure, 2 usage). Run by bd.ts for the process, and by
// cli/bd-run.ts inside a node agent for a caller elsewhere (RunBeads), in its own output scope.
import { CommanderError } from 'commander';
import { setContext } from './context.js';
import { buildProgram } from './program.js';
import { reportError } from './report.js';

export { reportError };

export interface RunCommandOptions {
  cwd: string;
  beadsDirEnv: string | undefined;
  actor: string;
  debug: boolean;
}

/** `argv` as process.argv has it (node, script, args…); the exit code. */
export async function runCommand(argv: string[], o: RunCommandOptions): Promise<number> {
  setContext({ cwd: o.cwd, beadsDirEnv: o.beadsDirEnv, actor: o.actor, json: false });
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      return 2;
    }
    return reportError(error, o.debug);
  }
}
