/**
 * The logger shape the node agent uses: pino's Logger satisfies it (daemons pass their pino root
 * logger); embedded CLI runs pass nothing and get the silent logger without loading pino.
 */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Log;
}

const noop = (): void => undefined;

export const silentLog: Log = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLog,
};
