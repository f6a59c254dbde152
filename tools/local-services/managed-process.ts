import { spawn, type ChildProcess } from "node:child_process";
import { ProcessTimeoutError, ServiceStartError } from "./errors.js";
import { forEachLine } from "./line-splitter.js";
import { listProcessTree, waitForProcessesGone, waitForProcessState } from "./process-state.js";

/** How a child process ended. */
export interface ProcessExit {
  /** Exit code, or null when ended by a signal or never started. */
  code: number | null;
  /** Signal that ended the process, if any. */
  signal: NodeJS.Signals | null;
  /** Spawn failure (e.g. ENOENT), when the process never started. */
  error?: Error;
}

/** Called with each line a managed process prints, and the stream it came from. */
export type LineListener = (line: string, stream: "stdout" | "stderr") => void;

/** Options for {@link ManagedProcess}. */
export interface ManagedProcessOptions {
  /** Service name used in errors, e.g. `redis`. */
  name: string;
  /** Executable to run. */
  command: string;
  /** Arguments. */
  args: readonly string[];
  /** Working directory. */
  cwd?: string;
  /** Environment; default the current one. */
  env?: NodeJS.ProcessEnv;
  /** Run as this user id (requires root). */
  uid?: number;
  /** Run as this group id (requires root). */
  gid?: number;
  /** How many output lines to keep for error messages. Default 200. */
  tailLines?: number;
}

/** Signals after which {@link ManagedProcess.kill} waits for the process to end. */
const TERMINATING_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>([
  "SIGKILL",
  "SIGTERM",
  "SIGINT",
  "SIGQUIT",
  "SIGABRT",
]);

/** Signals that pause a process until SIGCONT. */
const STOPPING_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>(["SIGSTOP", "SIGTSTP"]);

/**
 * A child process started in its own process group, with its output kept for diagnostics and
 * deadline-bounded signalling: `kill("SIGKILL")` resolves once every process of its tree is
 * gone, `kill("SIGSTOP")` once the process is actually stopped. If the current process exits
 * while the child still runs, the child and its group are killed.
 */
export class ManagedProcess {
  /** Service name used in errors. */
  readonly name: string;
  /** Process id, which is also the process group id; -1 if spawning failed. */
  readonly pid: number;
  /** Resolves (never rejects) when the process has exited or failed to spawn. */
  readonly exited: Promise<ProcessExit>;

  readonly #child: ChildProcess;
  readonly #tail: string[] = [];
  readonly #tailLines: number;
  readonly #listeners = new Set<LineListener>();
  readonly #exitHook: () => void;
  #exit: ProcessExit | undefined;
  #paused = false;

  /** Spawns the process described by `options`. */
  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    this.#tailLines = options.tailLines ?? 200;
    this.#child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      uid: options.uid,
      gid: options.gid,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.pid = this.#child.pid ?? -1;
    this.#exitHook = () => {
      tryKill(this.pid, "SIGKILL");
      tryKill(-this.pid, "SIGKILL");
    };
    if (this.pid > 0) process.on("exit", this.#exitHook);
    if (this.#child.stdout) forEachLine(this.#child.stdout, (line) => this.#record(line, "stdout"));
    if (this.#child.stderr) forEachLine(this.#child.stderr, (line) => this.#record(line, "stderr"));
    this.exited = new Promise<ProcessExit>((resolve) => {
      const finish = (exit: ProcessExit): void => {
        if (this.#exit !== undefined) return;
        this.#exit = exit;
        process.off("exit", this.#exitHook);
        resolve(exit);
      };
      this.#child.on("error", (error) => {
        if (this.#child.pid === undefined) finish({ code: null, signal: null, error });
      });
      this.#child.once("exit", (code, signal) => finish({ code, signal }));
    });
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** How the process ended, once it has. */
  get exitStatus(): ProcessExit | undefined {
    return this.#exit;
  }

  /** The last lines printed (stdout and stderr interleaved). */
  tail(): string[] {
    return [...this.#tail];
  }

  /** Subscribes to output lines; returns the unsubscribe function. */
  onLine(listener: LineListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with the first output line matching `pattern` (lines already printed count),
   * rejects with {@link ServiceStartError} if the process exits first or `timeoutMs` passes.
   */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const seen = this.#tail.find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        unsubscribe();
        return true;
      };
      const timer = setTimeout(() => {
        if (settle()) {
          reject(new ServiceStartError(this.name, `no output matching ${pattern} within ${timeoutMs} ms`, this.tail()));
        }
      }, timeoutMs);
      const unsubscribe = this.onLine((line) => {
        if (pattern.test(line) && settle()) resolve(line);
      });
      void this.exited.then((exit) => {
        if (settle()) {
          reject(new ServiceStartError(this.name, `exited before becoming ready (${describeExit(exit)})`, this.tail()));
        }
      });
    });
  }

  /**
   * Sends `signal` and waits for its effect within `timeoutMs`.
   * - SIGKILL reaches the whole process tree (the leader is frozen first so it cannot fork while
   *   its descendants are listed) and resolves once every process of it is gone: a crash.
   * - SIGTERM, SIGINT, SIGQUIT, SIGABRT go to the leader only (a paused tree is continued so it
   *   can act) and resolve once the leader and all its descendants have exited.
   * - SIGSTOP/SIGTSTP freeze, SIGCONT thaws the whole tree; they resolve once the leader's
   *   state has changed.
   * - Any other signal is sent to the leader only, without waiting.
   * Nothing is sent once the process has exited.
   */
  async kill(signal: NodeJS.Signals, timeoutMs = 10_000): Promise<ProcessExit | undefined> {
    if (!this.running || this.pid <= 0) return this.#exit;
    if (TERMINATING_SIGNALS.has(signal)) {
      if (signal === "SIGKILL") tryKill(this.pid, "SIGSTOP");
      const tree = [this.pid, ...(await listProcessTree(this.pid))];
      if (signal === "SIGKILL") {
        for (const pid of tree) tryKill(pid, "SIGKILL");
        tryKill(-this.pid, "SIGKILL");
      } else {
        tryKill(this.pid, signal);
        if (this.#paused) for (const pid of tree) tryKill(pid, "SIGCONT");
      }
      const exit = await this.waitForExit(timeoutMs);
      await waitForProcessesGone(tree, timeoutMs);
      this.#paused = false;
      return exit;
    }
    if (STOPPING_SIGNALS.has(signal)) {
      tryKill(this.pid, signal);
      for (const pid of await listProcessTree(this.pid)) tryKill(pid, signal);
      this.#paused = true;
      await waitForProcessState(this.pid, (state) => state === undefined || state === "T" || state === "t", "stopped", timeoutMs);
    } else if (signal === "SIGCONT") {
      for (const pid of await listProcessTree(this.pid)) tryKill(pid, signal);
      tryKill(this.pid, signal);
      this.#paused = false;
      await waitForProcessState(this.pid, (state) => state !== "T" && state !== "t", "running", timeoutMs);
    } else {
      tryKill(this.pid, signal);
    }
    return undefined;
  }

  /**
   * Stops the process: sends `signal` (default SIGTERM) as {@link kill} does, and if the tree has
   * not exited within `timeoutMs` kills it with SIGKILL. Resolves once every process is gone.
   */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<ProcessExit> {
    try {
      await this.kill(signal, timeoutMs);
    } catch (error) {
      if (!(error instanceof ProcessTimeoutError)) throw error;
      await this.kill("SIGKILL", timeoutMs);
    }
    return await this.exited;
  }

  /** Waits for the process to exit; rejects with {@link ProcessTimeoutError} after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ProcessExit> {
    if (this.#exit !== undefined) return this.#exit;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ProcessTimeoutError(`${this.name} (pid ${this.pid}) did not exit within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #record(line: string, stream: "stdout" | "stderr"): void {
    this.#tail.push(line);
    if (this.#tail.length > this.#tailLines) this.#tail.shift();
    for (const listener of this.#listeners) listener(line, stream);
  }
}

/** Formats a {@link ProcessExit} for messages, e.g. `code 1` or `signal SIGKILL`. */
export function describeExit(exit: ProcessExit): string {
  if (exit.error) return `spawn failed: ${exit.error.message}`;
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function tryKill(target: number, signal: NodeJS.Signals): void {
  // 0, -1 and 1 would reach this process's group, every process, or init: never meant here.
  if (Math.abs(target) <= 1) return;
  try {
    process.kill(target, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
