import { pino, type Logger } from "pino";

export type { Logger };

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level: trace, debug, info, warn, error, fatal or silent. Default info. */
  level?: string;
  /** Name bound to every line, e.g. "server" or "worker". */
  name?: string;
}

/**
 * Creates a structured JSON logger writing to stdout. Loggers are passed explicitly;
 * there is no module-level instance.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({
    name: options.name,
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
