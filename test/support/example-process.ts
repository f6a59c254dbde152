import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { createInterface } from "node:readline";
import { WaitTimeoutError } from "./wait-for.js";

/** One JSON line an example worker printed, e.g. `{"event":"started","task_id":"…"}`. */
export interface WorkerEvent {
  event: string;
  task_id?: string;
  type?: string;
  attempt?: number;
  outcome?: string;
  status?: string;
  cause?: string;
  error?: string;
  [field: string]: unknown;
}

/** How a process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A long-running example program (a worker) as a child process. Its stdout carries one
 * JSON event per line; they are collected in `events` and can be awaited with deadlines.
 * Its stderr (logs) is kept for failure messages.
 */
export class ExampleProcess {
  readonly events: WorkerEvent[] = [];
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private readonly logLines: string[] = [];
  private readonly changes = new EventEmitter();
  private exit: ProcessExit | undefined;

  /** Spawns `command args…` in `cwd` with `env`. */
  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: { cwd: string; env: NodeJS.ProcessEnv },
  ) {
    this.changes.setMaxListeners(0);
    this.child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      try {
        this.events.push(JSON.parse(line) as WorkerEvent);
      } catch {
        this.keepLog(`stdout: ${line}`);
      }
      this.changes.emit("change");
    });
    createInterface({ input: this.child.stderr! }).on("line", (line) => this.keepLog(line));
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exit = { code, signal };
        this.changes.emit("change");
        resolve(this.exit);
      });
      this.child.on("error", (error) => {
        this.keepLog(`spawn error: ${error.message}`);
        this.exit = { code: -1, signal: null };
        this.changes.emit("change");
        resolve(this.exit);
      });
    });
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines of its log, for failure messages. */
  get log(): string {
    return this.logLines.join("\n");
  }

  /**
   * Resolves with the first event (from the start) matching `match`. Rejects when the
   * process exits first, or with a WaitTimeoutError after `timeoutMs`.
   */
  waitForEvent(match: (event: WorkerEvent) => boolean, what: string, timeoutMs = 15_000): Promise<WorkerEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.find(match);
        if (found) {
          done();
          resolve(found);
        } else if (this.exit) {
          done();
          reject(new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before ${what}\n${this.log}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${this.name}: ${what}\n${this.log}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.changes.off("change", check);
      };
      this.changes.on("change", check);
      check();
    });
  }

  /** Sends `signal` to the process. */
  kill(signal: NodeJS.Signals): void {
    if (!this.exit) this.child.kill(signal);
  }

  /** SIGTERM (a graceful stop), then SIGKILL if it has not exited after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<ProcessExit> {
    if (this.exit) return this.exit;
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private keepLog(line: string): void {
    this.logLines.push(line);
    if (this.logLines.length > 200) this.logLines.shift();
  }
}
