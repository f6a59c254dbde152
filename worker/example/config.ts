/** Settings of the example worker. */
export interface ExampleConfig {
  /** Server address, host:port. */
  server: string;
  /** Queues to serve. */
  queues: string[];
  /** Maximum concurrent tasks. */
  concurrency: number;
  /** Graceful stop bound on SIGINT/SIGTERM, in ms. */
  stopTimeoutMs: number;
}

/** A command-line or environment setting of the example worker is invalid. */
export class ExampleConfigError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ExampleConfigError";
  }
}

/**
 * Reads the example worker's settings: `--server host:port` / `TQ_SERVER` (default
 * localhost:50051), `--queues a,b` / `TQ_QUEUES` (default "default"), `--concurrency N` /
 * `TQ_CONCURRENCY` (default 10), `--stop-timeout MS` / `TQ_STOP_TIMEOUT_MS` (default 30000).
 * Flags win over the environment; `--flag=value` works too.
 */
export function readExampleConfig(argv: string[], env: NodeJS.ProcessEnv): ExampleConfig {
  const flags = parseFlags(argv);
  const queues = (flags.get("queues") ?? env.TQ_QUEUES ?? "default")
    .split(",")
    .map((queue) => queue.trim())
    .filter((queue) => queue !== "");
  if (queues.length === 0) throw new ExampleConfigError("--queues: name at least one queue");
  return {
    server: flags.get("server") ?? env.TQ_SERVER ?? "localhost:50051",
    queues,
    concurrency: integer("--concurrency", flags.get("concurrency") ?? env.TQ_CONCURRENCY ?? "10"),
    stopTimeoutMs: integer("--stop-timeout", flags.get("stop-timeout") ?? env.TQ_STOP_TIMEOUT_MS ?? "30000"),
  };
}

const KNOWN = new Set(["server", "queues", "concurrency", "stop-timeout"]);

function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new ExampleConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!KNOWN.has(name)) throw new ExampleConfigError(`unknown flag --${name}`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ExampleConfigError(`--${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

function integer(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new ExampleConfigError(`${name}: "${text}" is not a positive integer`);
  return value;
}
