import { findFreePort } from "../../tools/local-services/free-port.js";
import type { ProcessExit } from "../../tools/local-services/managed-process.js";
import { NodeScriptProcess, type LogEntry, type LogMatch, type WaitForLogOptions } from "./node-process.js";

/** The log message the server prints once both ports listen. */
export const SERVER_LISTENING = "taskqueue server listening";
/** The log message the worker SDK prints on every welcome (each session opened). */
export const WORKER_SESSION_OPEN = "worker session open";
/** The log message the worker SDK prints for a STALE or REJECTED ack. */
export const WORKER_RESULT_NOT_ACCEPTED = "result not accepted";

/** A real process that can be signalled and started again (server or worker). */
abstract class RealProcess {
  /** The underlying process, with its parsed output. */
  readonly process: NodeScriptProcess;

  protected constructor(process: NodeScriptProcess) {
    this.process = process;
  }

  /** Current process id. */
  get pid(): number {
    return this.process.pid;
  }

  /** Sends `signal` and waits for its effect (exit for terminating signals, state for STOP/CONT). */
  kill(signal: NodeJS.Signals, timeoutMs?: number): Promise<ProcessExit | undefined> {
    return this.process.kill(signal, timeoutMs);
  }

  /** Waits for the current process to exit. */
  waitForExit(timeoutMs: number): Promise<ProcessExit> {
    return this.process.waitForExit(timeoutMs);
  }

  /** Waits for a log line (see NodeScriptProcess.waitForLog). */
  waitForLog(match: LogMatch, options: WaitForLogOptions): Promise<LogEntry> {
    return this.process.waitForLog(match, options);
  }

  /** Kills what still runs (SIGKILL). */
  stop(): Promise<void> {
    return this.process.stop();
  }
}

/** Options for {@link ServerProcess.start}. */
export interface ServerProcessOptions {
  /** Name in errors. Default "server". */
  name?: string;
  /** `DATABASE_URL`. */
  databaseUrl: string;
  /** `REDIS_URL`. */
  redisUrl: string;
  /** `REDIS_PREFIX`. */
  redisPrefix: string;
  /** gRPC port; default a free one (kept across restarts). */
  grpcPort?: number;
  /** HTTP gateway port; default a free one (kept across restarts). */
  httpPort?: number;
  /** More environment, e.g. `{ LEASE_DURATION_MS: "1500" }`. */
  env?: Readonly<Record<string, string>>;
  /** `LOG_LEVEL`. Default info. */
  logLevel?: string;
  /** Deadline for "taskqueue server listening". Default 30 s. */
  startTimeoutMs?: number;
  /** Entry point, relative to the repository root or absolute. Default "server/main.ts". */
  script?: string;
}

/** `node --import tsx server/main.ts` on fixed ports, restartable on the same ports. */
export class ServerProcess extends RealProcess {
  /** `GRPC_PORT`, the same after every restart. */
  readonly grpcPort: number;
  /** `HTTP_PORT`, the same after every restart. */
  readonly httpPort: number;
  /** `127.0.0.1:GRPC_PORT`. */
  readonly grpcAddress: string;
  readonly #startTimeoutMs: number;

  private constructor(process: NodeScriptProcess, grpcPort: number, httpPort: number, startTimeoutMs: number) {
    super(process);
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.grpcAddress = `127.0.0.1:${grpcPort}`;
    this.#startTimeoutMs = startTimeoutMs;
  }

  /** Spawns the server and resolves once it listens. */
  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const grpcPort = options.grpcPort ?? (await findFreePort());
    const httpPort = options.httpPort ?? (await findFreePort());
    const process = new NodeScriptProcess({
      name: options.name ?? "server",
      script: options.script ?? "server/main.ts",
      // As `npm run server`: tracing when the OTEL_* variables ask for it.
      imports: ["server/observability/tracing-register.ts"],
      env: {
        HOST: "127.0.0.1",
        GRPC_PORT: String(grpcPort),
        HTTP_PORT: String(httpPort),
        DATABASE_URL: options.databaseUrl,
        REDIS_URL: options.redisUrl,
        REDIS_PREFIX: options.redisPrefix,
        DATABASE_POOL_SIZE: "5",
        LOG_LEVEL: options.logLevel ?? "info",
        ...options.env,
      },
    });
    const server = new ServerProcess(process, grpcPort, httpPort, options.startTimeoutMs ?? 30_000);
    try {
      await server.waitListening(0);
    } catch (error) {
      await process.stop();
      throw error;
    }
    return server;
  }

  /** Starts the server again on the same ports (killing it first if it runs); resolves once it listens. */
  async restart(): Promise<void> {
    const since = this.process.nextSeq;
    await this.process.respawn();
    await this.waitListening(since);
  }

  private async waitListening(since: number): Promise<void> {
    await this.process.waitForLog({ msg: SERVER_LISTENING }, { timeoutMs: this.#startTimeoutMs, since });
  }
}

/** Options for {@link WorkerProcess.start}. */
export interface WorkerProcessOptions {
  /** Name in errors. Default "worker". */
  name?: string;
  /** Server address, host:port. */
  server: string;
  /** Queues served (`--queues`). */
  queues: readonly string[];
  /** `--concurrency`. Default 10. */
  concurrency?: number;
  /** Graceful stop bound (`--stop-timeout`), ms. Default 30000. */
  stopTimeoutMs?: number;
  /** `LOG_LEVEL`. Default info. */
  logLevel?: string;
  /** More environment. */
  env?: Readonly<Record<string, string>>;
  /** Deadline for the first "worker session open". Default 30 s. */
  startTimeoutMs?: number;
}

/**
 * The example worker (`node --import tsx worker/example/main.ts`) as a real process:
 * handlers echo, sleep {"ms"} and fail {"times","retryable"}.
 */
export class WorkerProcess extends RealProcess {
  readonly #startTimeoutMs: number;

  private constructor(process: NodeScriptProcess, startTimeoutMs: number) {
    super(process);
    this.#startTimeoutMs = startTimeoutMs;
  }

  /** Spawns the worker and resolves once its first session is open. */
  static async start(options: WorkerProcessOptions): Promise<WorkerProcess> {
    const worker = WorkerProcess.spawn(options);
    try {
      await worker.waitForSession({ timeoutMs: worker.#startTimeoutMs });
    } catch (error) {
      await worker.stop();
      throw error;
    }
    return worker;
  }

  /** Spawns the worker without waiting for anything. */
  static spawn(options: WorkerProcessOptions): WorkerProcess {
    const process = new NodeScriptProcess({
      name: options.name ?? "worker",
      script: "worker/example/main.ts",
      args: [
        "--server", options.server,
        "--queues", options.queues.join(","),
        "--concurrency", String(options.concurrency ?? 10),
        "--stop-timeout", String(options.stopTimeoutMs ?? 30_000),
      ],
      env: { LOG_LEVEL: options.logLevel ?? "info", ...options.env },
    });
    return new WorkerProcess(process, options.startTimeoutMs ?? 30_000);
  }

  /** How many sessions this worker opened (welcomes received), across restarts. */
  sessionsOpened(): number {
    return this.process.find({ msg: WORKER_SESSION_OPEN }).length;
  }

  /** Waits for a "worker session open" line at or after `since`. */
  waitForSession(options: WaitForLogOptions): Promise<LogEntry> {
    return this.process.waitForLog({ msg: WORKER_SESSION_OPEN }, options);
  }

  /** Starts the worker again (killing it first if it runs); resolves once its session is open. */
  async restart(): Promise<void> {
    const since = this.process.nextSeq;
    await this.process.respawn();
    await this.waitForSession({ since, timeoutMs: this.#startTimeoutMs });
  }

  /** True when `workerId` (default form "host/pid/random") belongs to any run of this worker. */
  owns(workerId: string | null | undefined): boolean {
    const pid = pidOfWorkerId(workerId);
    return pid !== undefined && this.process.pids.includes(pid);
  }
}

/** The process id inside a default worker id ("host/pid/random"), if there is one. */
export function pidOfWorkerId(workerId: string | null | undefined): number | undefined {
  const parts = (workerId ?? "").split("/");
  if (parts.length < 3) return undefined;
  const pid = Number(parts[parts.length - 2]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
