/** Anything with the four console methods: `console`, pino, winston, … */
export interface Logger {
  /** Lines at `logLevel` `"debug"` only: one per operation (ids shortened, never data). */
  debug(message: string, ...rest: unknown[]): void;
  /** Lines at `logLevel` `"info"` and below. */
  info(message: string, ...rest: unknown[]): void;
  /** Lines at `logLevel` `"warn"` and below: something worked around. */
  warn(message: string, ...rest: unknown[]): void;
  /** Lines at every level but `"silent"`: failures (a listener threw, and none listens on `error`). */
  error(message: string, ...rest: unknown[]): void;
}

/** The least severe level passed to the logger; `"silent"` passes nothing. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** Per level, a function that logs, or `undefined` when the level is off (so callers skip work). */
export type LogFns = {
  [L in Exclude<LogLevel, "silent">]?: (message: string, ...rest: unknown[]) => void;
};

const levels = ["debug", "info", "warn", "error"] as const;

export function createLog(logger: Logger | undefined, level: LogLevel, prefix: string): LogFns {
  const fns: LogFns = {};
  const from = levels.indexOf(level as (typeof levels)[number]);
  if (!logger || from < 0) return fns;
  for (const name of levels.slice(from)) {
    fns[name] = (message, ...rest) => logger[name](`${prefix} ${message}`, ...rest);
  }
  return fns;
}

// Kept with the errors, whose messages show ids too: rotate(), loaded on first use, then imports
// no module of its own for it (a one-file page wraps each module such code imports).
export { shortId } from "./errors.ts";
