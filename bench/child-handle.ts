import { fork, spawn, type ChildProcess } from "node:child_process";
import { BenchTimeoutError, ChildProcessError } from "./errors.js";
import type { ChildMessage, ParentMessage } from "./children/messages.js";
import { REPO_ROOT, childScript } from "./paths.js";

type MessageOf<T extends ChildMessage["type"]> = Extract<ChildMessage, { type: T }>;

/**
 * A program other than a Node.js script that speaks the children's protocol over Node.js's IPC
 * channel with JSON serialization (one JSON message per line on the descriptor named by
 * NODE_CHANNEL_FD), e.g. the River peer (bench/river).
 */
export interface ChildProgram {
  /** Path of the executable; it is run as `command <script> <config JSON>`. */
  command: string;
  /** Extra environment. */
  env?: Record<string, string>;
}

/**
 * One child process of the benchmark (producer, worker, stream holder), started with
 * `fork` under tsx (or, given a {@link ChildProgram}, spawned), talking JSON messages over IPC.
 */
export class ChildHandle {
  /** A label for errors, e.g. `worker#1`. */
  readonly name: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  readonly #child: ChildProcess;
  readonly #listeners = new Set<(message: ChildMessage) => void>();
  #exit: number | string | undefined;
  #error: string | undefined;

  /**
   * Forks `bench/children/<script>` with `config` as its one JSON argument; given `program`,
   * spawns `program.command <script> <config JSON>` instead.
   */
  constructor(name: string, script: string, config: object, program?: ChildProgram) {
    this.name = name;
    this.#child = program
      ? spawn(program.command, [script, JSON.stringify(config)], {
          cwd: REPO_ROOT,
          env: { ...process.env, ...program.env },
          stdio: ["ignore", "inherit", "inherit", "ipc"],
          serialization: "json",
        })
      : fork(childScript(script), [JSON.stringify(config)], {
          cwd: REPO_ROOT,
          execArgv: ["--import", "tsx", ...childProfiling()],
          stdio: ["ignore", "inherit", "inherit", "ipc"],
          serialization: "advanced",
        });
    this.#child.on("message", (message: ChildMessage) => {
      if (message.type === "error") this.#error = message.message;
      for (const listener of [...this.#listeners]) listener(message);
    });
    this.exited = new Promise((resolve) => {
      this.#child.once("exit", (code, signal) => {
        this.#exit = code ?? signal ?? "unknown";
        resolve(this.#exit);
        for (const listener of [...this.#listeners]) listener({ type: "error", message: "exited" });
      });
    });
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Sends a command; ignored once the child has exited. */
  send(message: ParentMessage): void {
    if (this.#exit === undefined && this.#child.connected) this.#child.send(message);
  }

  /** Calls `listener` with each message of type `type`; returns the unsubscribe function. */
  on<T extends ChildMessage["type"]>(type: T, listener: (message: MessageOf<T>) => void): () => void {
    const wrapped = (message: ChildMessage) => {
      if (message.type === type) listener(message as MessageOf<T>);
    };
    this.#listeners.add(wrapped);
    return () => this.#listeners.delete(wrapped);
  }

  /**
   * Resolves with the next message of type `type`; rejects with {@link ChildProcessError} if the
   * child fails or exits first, or {@link BenchTimeoutError} after `timeoutMs`.
   */
  next<T extends ChildMessage["type"]>(type: T, timeoutMs: number): Promise<MessageOf<T>> {
    return new Promise((resolve, reject) => {
      if (this.#exit !== undefined) return reject(this.#failure());
      const timer = setTimeout(() => {
        done();
        reject(new BenchTimeoutError(`${this.name} to send "${type}"`, timeoutMs));
      }, timeoutMs);
      const listener = (message: ChildMessage) => {
        if (message.type === type) {
          done();
          resolve(message as MessageOf<T>);
        } else if (message.type === "error") {
          done();
          reject(this.#failure());
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      this.#listeners.add(listener);
    });
  }

  /** Asks the child to stop and waits for it to exit; kills it after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.#exit !== undefined) return;
    this.send({ type: "stop" });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      this.#child.kill("SIGKILL");
      await this.exited;
    }
  }

  #failure(): ChildProcessError {
    const exit = this.#exit === undefined ? "" : ` (exit ${this.#exit})`;
    return new ChildProcessError(`${this.name} failed${exit}${this.#error ? `: ${this.#error}` : ""}`);
  }
}

/** Stops every child, in parallel. */
export async function stopAll(children: readonly ChildHandle[], timeoutMs = 10_000): Promise<void> {
  await Promise.all(children.map((c) => c.stop(timeoutMs)));
}

/** Waits for every child's `ready` message. */
export async function allReady(children: readonly ChildHandle[], timeoutMs: number): Promise<void> {
  await Promise.all(children.map((c) => c.next("ready", timeoutMs)));
}

/** `--cpu-prof` flags when `BENCH_CHILD_CPU_PROF` names a folder for the children's profiles. */
function childProfiling(): string[] {
  const dir = process.env.BENCH_CHILD_CPU_PROF;
  return dir ? ["--cpu-prof", "--cpu-prof-dir", dir] : [];
}
