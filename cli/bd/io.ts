// Where bd's output goes: the process's stdout/stderr, or — when bd runs inside a node agent for
// a caller elsewhere (RunBeads, cli/bd-run.ts) — that one call's buffers. AsyncLocalStorage keeps
// calls running at once in one process apart, with their own context (context.ts).
import { AsyncLocalStorage } from 'node:async_hooks';

export interface BdScope {
  stdout: (text: string | Uint8Array) => void;
  stderr: (text: string) => void;
  /** The call's context (context.ts), set by setContext inside the scope. */
  context?: unknown;
}

const scope = new AsyncLocalStorage<BdScope>();

export function inScope<T>(s: BdScope, fn: () => Promise<T>): Promise<T> {
  return scope.run(s, fn);
}

export function currentScope(): BdScope | undefined {
  return scope.getStore();
}

export function writeOut(text: string | Uint8Array): void {
  const s = scope.getStore();
  if (s === undefined) process.stdout.write(text);
  else s.stdout(text);
}

export function writeErr(text: string): void {
  const s = scope.getStore();
  if (s === undefined) process.stderr.write(text);
  else s.stderr(text);
}
