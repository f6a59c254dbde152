import { pino } from "pino";

/** A logging method: structured fields first, then the message (pino's order). */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/**
 * The logger the worker SDK writes to: four levels and `child` for the per-task logger bound
 * to a task's id and attempt. A pino logger satisfies it; so does any adapter with the same
 * methods.
 */
export interface Logger {
  /** Detail for debugging. */
  debug: LogFn;
  /** Normal operation. */
  info: LogFn;
  /** Something unexpected that the worker handled. */
  warn: LogFn;
  /** Something failed. */
  error: LogFn;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * The SDK's default logger when the options give none: pino writing JSON lines to stdout, at
 * `LOG_LEVEL` (default info), named `name`.
 */
export function defaultWorkerLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
