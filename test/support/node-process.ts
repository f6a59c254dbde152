import { fileURLToPath } from "node:url";
import { ManagedProcess, describeExit, type ProcessExit } from "../../tools/local-services/managed-process.js";
import { WaitTimeoutError } from "./wait-for.js";

/** The repository root (where `node --import tsx <script>` is run). */
export const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));

/** One line a process printed, parsed when it is a pino JSON line. */
export interface LogEntry {
  /** Position in the process's whole output, across restarts (0, 1, 2, …). */
  seq: number;
  /** Which start of the process printed it (0 for the first, 1 after the first restart, …). */
  generation: number;
  /** Process id that printed it. */
  pid: number;
  /** When the line was read, ms since the epoch (this process's clock). */
  receivedAt: number;
  /** The pino `msg`, or the raw line when it is not JSON. */
  msg: string;
  /** The pino level number (30 info, 40 warn, 50 error…), 0 for raw lines. */
  level: number;
  /** Every field of the JSON line (empty for raw lines). */
  fields: Record<string, unknown>;
  /** The line as printed. */
  raw: string;
}

/** Which log lines to wait for: a message (exact string or pattern) and optional field test. */
export interface LogMatch {
  /** Exact `msg`, or a pattern tested against it. */
  msg: string | RegExp;
  /** Further condition on the parsed line. */
  where?: (entry: LogEntry) => boolean;
}

/** Options for {@link NodeScriptProcess}. */
export interface NodeScriptProcessOptions {
  /** Name used in errors, e.g. "server-1". */
  name: string;
  /** Script path relative to the repository root, e.g. "server/main.ts". */
  script: string;
  /** Arguments after the script. */
  args?: readonly string[];
  /** Modules preloaded after tsx (`--import`), relative to the repository root. */
  imports?: readonly string[];
  /** Environment added to the current one. */
  env?: Readonly<Record<string, string>>;
  /** Output lines kept for waiting and diagnostics. Default 50000. */
  keepLines?: number;
}

/** Options for {@link NodeScriptProcess.waitForLog}. */
export interface WaitForLogOptions {
  /** Deadline in ms. */
  timeoutMs: number;
  /** Only lines with `seq >= since` count. Default 0 (every line kept). */
  since?: number;
}

/**
 * A TypeScript entry point run as a real process (`node --import tsx <script>`) in its own
 * process group, which can be signalled (SIGKILL kills the tree, SIGSTOP/SIGCONT freeze and
 * thaw it) and started again with the same arguments. Its output is kept across restarts
 * and parsed as pino JSON lines, so tests can wait for log messages.
 */
export class NodeScriptProcess {
  /** Name used in errors. */
  readonly name: string;
  /** Every process id this script has run as, oldest first. */
  readonly pids: number[] = [];
  readonly #options: NodeScriptProcessOptions;
  readonly #entries: LogEntry[] = [];
  readonly #listeners = new Set<(entry: LogEntry) => void>();
  #seq = 0;
  #generation = -1;
  #current: ManagedProcess;

  /** Spawns the script at once. */
  constructor(options: NodeScriptProcessOptions) {
    this.name = options.name;
    this.#options = options;
    this.#current = this.#spawn();
  }

  /** Process id of the current process. */
  get pid(): number {
    return this.#current.pid;
  }

  /** True while the current process runs. */
  get running(): boolean {
    return this.#current.running;
  }

  /** How the current process ended, once it has. */
  get exitStatus(): ProcessExit | undefined {
    return this.#current.exitStatus;
  }

  /** Sequence number the next output line will get (use as `since` to wait for later lines). */
  get nextSeq(): number {
    return this.#seq;
  }

  /** Lines kept so far (all generations). */
  logs(): readonly LogEntry[] {
    return this.#entries;
  }

  /** Kept lines matching `match`. */
  find(match: LogMatch, since = 0): LogEntry[] {
    return this.#entries.filter((entry) => entry.seq >= since && matches(entry, match));
  }

  /**
   * Resolves with the first line (from `since`) matching `match`. Rejects if the process exits
   * first or the deadline passes, with the last lines in the message.
   */
  waitForLog(match: LogMatch, options: WaitForLogOptions): Promise<LogEntry> {
    const since = options.since ?? 0;
    const seen = this.find(match, since)[0];
    if (seen) return Promise.resolve(seen);
    const current = this.#current;
    return new Promise<LogEntry>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      const listener = (entry: LogEntry): void => {
        if (entry.seq >= since && matches(entry, match)) {
          done();
          resolve(entry);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new WaitTimeoutError(`${this.name}: no log line ${describe(match)} within ${options.timeoutMs} ms${this.#tail()}`));
      }, options.timeoutMs);
      this.#listeners.add(listener);
      void current.exited.then((exit) => {
        if (!this.#listeners.has(listener) || current !== this.#current) return;
        done();
        reject(new Error(`${this.name}: exited (${describeExit(exit)}) before ${describe(match)}${this.#tail()}`));
      });
    });
  }

  /** Sends `signal` to the current process and waits for its effect (see ManagedProcess.kill). */
  async kill(signal: NodeJS.Signals, timeoutMs = 10_000): Promise<ProcessExit | undefined> {
    return this.#current.kill(signal, timeoutMs);
  }

  /** Waits for the current process to exit (rejects after `timeoutMs`). */
  waitForExit(timeoutMs: number): Promise<ProcessExit> {
    return this.#current.waitForExit(timeoutMs);
  }

  /** Starts the script again with the same arguments; a still running process is killed first. */
  async respawn(): Promise<void> {
    if (this.#current.running) await this.#current.kill("SIGKILL");
    this.#current = this.#spawn();
  }

  /** Kills the whole tree (SIGKILL) unless it has already exited. */
  async stop(): Promise<void> {
    if (this.#current.running) await this.#current.kill("SIGKILL");
  }

  #spawn(): ManagedProcess {
    this.#generation += 1;
    const generation = this.#generation;
    const child = new ManagedProcess({
      name: this.name,
      command: process.execPath,
      args: [
        "--import",
        "tsx",
        ...(this.#options.imports ?? []).flatMap((module) => ["--import", `./${module}`]),
        this.#options.script,
        ...(this.#options.args ?? []),
      ],
      cwd: repositoryRoot,
      env: { ...process.env, ...this.#options.env },
      tailLines: 50,
    });
    this.pids.push(child.pid);
    child.onLine((line) => this.#record(line, generation, child.pid));
    return child;
  }

  #record(raw: string, generation: number, pid: number): void {
    const entry: LogEntry = { seq: this.#seq++, generation, pid, receivedAt: Date.now(), msg: raw, level: 0, fields: {}, raw };
    if (raw.startsWith("{")) {
      try {
        const fields = JSON.parse(raw) as Record<string, unknown>;
        entry.fields = fields;
        entry.msg = typeof fields.msg === "string" ? fields.msg : raw;
        entry.level = typeof fields.level === "number" ? fields.level : 0;
      } catch {
        // not JSON after all: keep it raw
      }
    }
    this.#entries.push(entry);
    if (this.#entries.length > (this.#options.keepLines ?? 50_000)) this.#entries.shift();
    for (const listener of [...this.#listeners]) listener(entry);
  }

  #tail(): string {
    const lines = this.#entries.slice(-15).map((e) => e.raw);
    return lines.length > 0 ? `\n--- last output ---\n${lines.join("\n")}` : "";
  }
}

function matches(entry: LogEntry, match: LogMatch): boolean {
  const msgOk = typeof match.msg === "string" ? entry.msg === match.msg : match.msg.test(entry.msg);
  return msgOk && (match.where === undefined || match.where(entry));
}

function describe(match: LogMatch): string {
  return `"${String(match.msg)}"${match.where ? " (with condition)" : ""}`;
}
