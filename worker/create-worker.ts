import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { defaultWorkerLogger } from "./logger.js";
import { createBackoff, type Backoff } from "./backoff.js";
import type { TimerHandle } from "./clock.js";
import { TypedEmitter, type AckCounts, type Listener, type WorkerEvents } from "./events.js";
import { helloRefusal } from "./hello-refusal.js";
import { compileWorkerOptions, type CompiledWorkerOptions, type WorkerOptions } from "./options.js";
import { HTTP2_SESSION_MEMORY_MB } from "../wire/http2-session-memory.js";
import { Session, type SessionEnd } from "./session.js";
import { SlotPool } from "./slot-pool.js";
import { frameService, type FrameService } from "./wire/frame-service.js";

/** Options of {@link Worker.stop}. */
export interface StopOptions {
  /** How long to wait for running tasks and their acks before aborting them, in ms. Default 30000. */
  timeoutMs?: number;
}

/** A snapshot of a worker's state. */
export interface WorkerStats {
  /** Worker identity sent in the hello. */
  workerId: string;
  /** Whether a session is open (welcomed). */
  connected: boolean;
  /** Handlers running (including aborted ones that have not returned yet). */
  running: number;
  /** Credits granted on the current stream and not yet consumed. */
  credit: number;
  /** Acknowledgements received since start. */
  acks: AckCounts;
}

/** A worker: holds one stream to the server at a time and runs the tasks it leases. */
export interface Worker {
  /**
   * Connects and starts taking work. Resolves when the first session is welcomed (or the
   * worker is stopped first). Rejects with a WorkerOptionsError for bad options (before any
   * connection), or with the server's ConnectError when it refuses the hello with
   * INVALID_ARGUMENT or FAILED_PRECONDITION (e.g. `hello.capacity` above its
   * `MAX_WORKER_CAPACITY`): the same hello cannot succeed, so the worker stops instead of
   * retrying. Other connection failures are retried with back-off forever. A stopped worker
   * stays stopped.
   */
  start(): Promise<void>;
  /**
   * Graceful stop: tells the server, takes no more work, waits for running tasks and the
   * acks of their results up to `timeoutMs`, aborts what is left, then closes the stream.
   */
  stop(options?: StopOptions): Promise<void>;
  /** Adds an event listener; returns a function that removes it. */
  on<E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents, E>): () => void;
  /** Adds a listener called at most once; returns a function that removes it. */
  once<E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents, E>): () => void;
  /** Removes a listener added with `on`. */
  off<E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents, E>): void;
  /** Current state, for diagnostics. */
  stats(): WorkerStats;
}

/**
 * Creates a worker. Options are validated by {@link Worker.start}, which rejects with a
 * WorkerOptionsError naming the bad option.
 *
 * @example
 * const worker = createWorker({ queues: ["default"], handlers: { echo: async (t) => t.payload } });
 * await worker.start();
 */
export function createWorker(options: WorkerOptions): Worker {
  return new TaskWorker(options);
}

type State = "idle" | "running" | "stopping" | "stopped";

class TaskWorker implements Worker {
  private readonly compiled: CompiledWorkerOptions | undefined;
  private readonly optionsError: unknown;
  private readonly events: TypedEmitter<WorkerEvents>;
  private readonly ackCounts: AckCounts = { accepted: 0, stale: 0, rejected: 0 };
  private readonly slots: SlotPool;
  private state: State = "idle";
  private started: Promise<void> | undefined;
  /** Settles a pending `start()`: resolves it, or rejects it with `error`. */
  private settleStart: ((error?: unknown) => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private session: Session | undefined;
  private client: Client<FrameService> | undefined;
  private sessionManager: Http2SessionManager | undefined;
  private cancelWait: (() => void) | undefined;

  constructor(options: WorkerOptions) {
    let compiled: CompiledWorkerOptions | undefined;
    try {
      compiled = compileWorkerOptions(options);
    } catch (error) {
      this.optionsError = error;
    }
    this.compiled = compiled;
    this.slots = new SlotPool(compiled?.concurrency ?? 1);
    this.events = new TypedEmitter<WorkerEvents>((error, event) => {
      this.logger().error({ err: error, event }, "worker event listener threw");
    });
  }

  start(): Promise<void> {
    if (this.optionsError !== undefined) return Promise.reject(this.optionsError);
    if (this.started) return this.started;
    if (this.state !== "idle") return Promise.resolve();
    this.state = "running";
    this.started = new Promise<void>((resolve, reject) => {
      const off = this.events.once("welcome", () => {
        this.settleStart = undefined;
        resolve();
      });
      this.settleStart = (error) => {
        this.settleStart = undefined;
        off();
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    this.loop = this.runLoop();
    return this.started;
  }

  stop(options: StopOptions = {}): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.state === "idle" || this.state === "stopped") {
      this.state = "stopped";
      this.stopping = Promise.resolve();
      return this.stopping;
    }
    const compiled = this.compiled as CompiledWorkerOptions;
    this.state = "stopping";
    const deadlineAt = compiled.clock.now() + (options.timeoutMs ?? 30_000);
    compiled.logger.info({ timeoutMs: options.timeoutMs ?? 30_000 }, "worker stopping");
    this.stopping = (async () => {
      this.cancelWait?.();
      this.session?.stop(deadlineAt);
      await this.loop;
      await this.waitIdle(deadlineAt);
      this.sessionManager?.abort();
      this.sessionManager = undefined;
      this.client = undefined;
      this.state = "stopped";
      this.settleStart?.();
      compiled.logger.info({ running: this.slots.busy }, "worker stopped");
      this.events.emit("stopped", { error: undefined });
    })();
    return this.stopping;
  }

  on<E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents, E>): () => void {
    return this.events.on(event, listener);
  }

  once<E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents, E>): () => void {
    return this.events.once(event, listener);
  }

  off<E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents, E>): void {
    this.events.off(event, listener);
  }

  stats(): WorkerStats {
    return {
      workerId: this.compiled?.workerId ?? "",
      connected: this.session?.isWelcomed ?? false,
      running: this.slots.busy,
      credit: this.session?.credit ?? 0,
      acks: { ...this.ackCounts },
    };
  }

  private async runLoop(): Promise<void> {
    const options = this.compiled as CompiledWorkerOptions;
    const backoff: Backoff = createBackoff(options.reconnect);
    while (this.state === "running") {
      const session = new Session({
        client: this.getClient(options),
        options,
        slots: this.slots,
        events: this.events,
        ackCounts: this.ackCounts,
      });
      this.session = session;
      const end = await session.run();
      this.session = undefined;
      const refusal = this.state === "running" ? helloRefusal(end) : undefined;
      if (refusal) {
        this.stopRefused(refusal, end);
        return;
      }
      this.reportEnd(end);
      if (end.welcomed) backoff.reset();
      if (end.reason === "deaf") this.resetTransport();
      if (this.state !== "running") break;
      const delayMs = backoff.next();
      this.events.emit("reconnecting", { attempt: backoff.attempts, delayMs });
      await this.wait(delayMs);
    }
  }

  /**
   * The server refused the hello: retrying the same hello cannot succeed, so the worker
   * stops, whether this was its first session (`start()` rejects with `error`) or a later
   * reconnect (the `stopped` event carries `error`). Handlers of earlier sessions were
   * already aborted with their stream.
   */
  private stopRefused(error: Error, end: SessionEnd): void {
    const { logger } = this.compiled as CompiledWorkerOptions;
    logger.error({ error: error.message }, "server refused the hello: worker stopped");
    this.events.emit("disconnected", end);
    this.resetTransport();
    this.state = "stopped";
    this.stopping = Promise.resolve();
    this.settleStart?.(error);
    this.events.emit("stopped", { error });
  }

  private reportEnd(end: SessionEnd): void {
    const { logger } = this.compiled as CompiledWorkerOptions;
    const quiet = end.reason === "stopped" || end.reason === "drained";
    logger[quiet ? "info" : "warn"](
      {
        reason: end.reason,
        error: end.error instanceof Error ? end.error.message : end.error,
        lostTasks: end.lostTasks,
        welcomed: end.welcomed,
      },
      "worker session ended",
    );
    if (end.reason === "failed" && this.state === "running") {
      this.events.emit("error", end.error instanceof Error ? end.error : new Error(String(end.error)));
    }
    this.events.emit("disconnected", end);
  }

  private getClient(options: CompiledWorkerOptions): Client<FrameService> {
    if (this.client) return this.client;
    if (options.transport) {
      this.client = createClient(frameService, options.transport);
    } else {
      this.sessionManager = new Http2SessionManager(options.baseUrl, undefined, { ...options.tls, maxSessionMemory: HTTP2_SESSION_MEMORY_MB });
      const { token } = options;
      const bearer: Interceptor = (next) => (request) => {
        request.header.set("authorization", `Bearer ${token}`);
        return next(request);
      };
      const transport = createGrpcTransport({
        baseUrl: options.baseUrl,
        sessionManager: this.sessionManager,
        ...(token === undefined ? {} : { interceptors: [bearer] }),
      });
      this.client = createClient(frameService, transport);
    }
    return this.client;
  }

  /** Forgets the HTTP/2 connection so the next session dials afresh (the old one may be dead). */
  private resetTransport(): void {
    if (!this.sessionManager) return;
    this.sessionManager.abort();
    this.sessionManager = undefined;
    this.client = undefined;
  }

  /** Waits `ms`, or less if the worker is stopped meanwhile. */
  private wait(ms: number): Promise<void> {
    const { clock } = this.compiled as CompiledWorkerOptions;
    return new Promise((resolve) => {
      const handle: TimerHandle = clock.setTimeout(() => done(), ms);
      const done = () => {
        clock.clearTimeout(handle);
        this.cancelWait = undefined;
        resolve();
      };
      this.cancelWait = done;
    });
  }

  /** Waits until no handler runs, or until `deadlineAt`. */
  private waitIdle(deadlineAt: number): Promise<void> {
    const { clock } = this.compiled as CompiledWorkerOptions;
    if (this.slots.busy === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const handle = clock.setTimeout(() => done(), Math.max(0, deadlineAt - clock.now()));
      const off = this.slots.onRelease(() => {
        if (this.slots.busy === 0) done();
      });
      const done = () => {
        clock.clearTimeout(handle);
        off();
        resolve();
      };
    });
  }

  private logger() {
    return this.compiled?.logger ?? defaultWorkerLogger("worker");
  }
}
