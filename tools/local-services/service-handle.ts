import { ServiceStateError } from "./errors.js";
import type { LocalServiceProcess } from "./local-service.js";
import type { ManagedProcess } from "./managed-process.js";
import type { TempDir } from "./temp-dir.js";

/** How a {@link ServiceHandle} stops and restarts its server process. */
export interface ServiceHandleOptions {
  /** Service name used in errors, e.g. `redis`. */
  service: string;
  /** The signal of a clean stop (Redis: SIGTERM, Postgres: SIGINT, its fast shutdown). */
  stopSignal: NodeJS.Signals;
  /** Deadline for the server to exit after a signal before SIGKILL. */
  stopTimeoutMs: number;
  /** The temp folder removed by `stop()`, when the service made its own. */
  tempDir: TempDir | undefined;
}

/**
 * The one base of the private server processes (redis-server, Postgres): it holds the current
 * {@link ManagedProcess} and implements the lifecycle half of {@link LocalServiceProcess}
 * (`pid`, `running`, `kill`, `restart`, a final `stop`); subclasses add their URLs and say how
 * to start the server again ({@link ServiceHandle.respawn}).
 */
export abstract class ServiceHandle implements Pick<LocalServiceProcess, "pid" | "running" | "stop" | "kill" | "restart"> {
  readonly #options: ServiceHandleOptions;
  #process: ManagedProcess;
  #closed = false;

  /** Wraps the server process `process`, already started and ready. */
  protected constructor(process: ManagedProcess, options: ServiceHandleOptions) {
    this.#process = process;
    this.#options = options;
  }

  /** Process id of the current server process. */
  get pid(): number {
    return this.#process.pid;
  }

  /** True while the server process runs. */
  get running(): boolean {
    return this.#process.running;
  }

  /** Stops the server (SIGKILL after the deadline) and removes its temp folder. Final. */
  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#process.stop(this.#options.stopSignal, this.#options.stopTimeoutMs);
    await this.#options.tempDir?.remove();
  }

  /** Sends `signal` and waits for its effect (see {@link ManagedProcess.kill}). */
  async kill(signal: NodeJS.Signals): Promise<void> {
    await this.#process.kill(signal, this.#options.stopTimeoutMs);
  }

  /** Stops the current server process if it runs, and starts a new one ({@link respawn}). */
  async restart(): Promise<void> {
    if (this.#closed) throw new ServiceStateError(`${this.#options.service}: restart() after stop()`);
    await this.#process.stop(this.#options.stopSignal, this.#options.stopTimeoutMs);
    this.#process = await this.respawn();
  }

  /** Starts the server again, on the same port and folder, and resolves once it is ready. */
  protected abstract respawn(): Promise<ManagedProcess>;
}
