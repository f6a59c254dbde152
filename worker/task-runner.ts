import { create } from "@bufbuild/protobuf";
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import {
  TaskResultSchema,
  type LeasedTask,
  type TaskResult,
} from "../gen/taskqueue/v1/worker_service_pb.js";
import type { Clock, TimerHandle } from "./clock.js";
import { TaskCancelledError, TaskTimeoutError, UnknownTaskTypeError } from "./errors.js";
import type { TypedEmitter, WorkerEvents } from "./events.js";
import {
  decodePayload,
  encodeFailure,
  encodeSuccess,
  failureFromError,
  type FailureInfo,
} from "./payload.js";
import { ProgressThrottle } from "./progress-throttle.js";
import type { TaskContext, TaskHandler, TaskInfo } from "./task-context.js";

/** Callbacks through which a {@link RunningTask} reports to its session. */
export interface RunningTaskHooks {
  /** The attempt's outcome is decided: `result` should be sent. Called at most once. */
  onOutcome(task: RunningTask, result: TaskResult): void;
  /** The handler settled (or never started): its slot is free. Called exactly once. */
  onSettled(task: RunningTask): void;
  /** A progress report that passed the throttle. */
  onProgress(task: RunningTask, percent: number, message: string): void;
}

/** Options of {@link RunningTask}. */
export interface RunningTaskOptions {
  /** The assignment. */
  leased: LeasedTask;
  /** The handler of the task's type, if the worker has one. */
  handler: TaskHandler | undefined;
  /** Parent logger; the task logs through a child bound to its id. */
  logger: Logger;
  /** Clock and timers. */
  clock: Clock;
  /** Minimum interval between progress reports, in ms. */
  progressIntervalMs: number;
  /** Where task events are emitted. */
  events: TypedEmitter<WorkerEvents>;
  /** Session callbacks. */
  hooks: RunningTaskHooks;
}

/**
 * One leased attempt: runs its handler with an abort signal, enforces the execution
 * timeout, and decides the outcome exactly once — from the handler, the timeout, a cancel,
 * or not at all when the lease is lost (dropped).
 */
export class RunningTask {
  /** Identity of the attempt. */
  readonly info: TaskInfo;
  private readonly controller = new AbortController();
  private readonly throttle: ProgressThrottle;
  private readonly timeoutMs: number | undefined;
  private timer: TimerHandle | undefined;
  private startedAt = 0;
  private decided = false;
  private settled = false;

  /** Prepares the attempt; nothing runs before {@link RunningTask.start}. */
  constructor(private readonly options: RunningTaskOptions) {
    const { leased } = options;
    this.info = {
      id: leased.taskId,
      queue: leased.queue,
      type: leased.type,
      attempt: leased.attempt,
      maxAttempts: leased.maxAttempts,
      leaseToken: leased.leaseToken,
    };
    const timeoutMs = leased.timeout ? durationMs(leased.timeout) : 0;
    this.timeoutMs = timeoutMs > 0 ? timeoutMs : undefined;
    this.throttle = new ProgressThrottle({
      intervalMs: options.progressIntervalMs,
      clock: options.clock,
      send: (percent, message) => {
        if (!this.decided) options.hooks.onProgress(this, percent, message);
      },
    });
  }

  /** Task id. */
  get id(): string {
    return this.info.id;
  }

  /** True once the outcome is decided or the task was dropped. */
  get isDecided(): boolean {
    return this.decided;
  }

  /** True once the handler settled. */
  get isSettled(): boolean {
    return this.settled;
  }

  /** Starts the handler (or fails at once when the type has no handler). */
  start(): void {
    const { clock, events, handler, leased } = this.options;
    this.startedAt = clock.now();
    events.emit("task:started", { task: this.info });
    if (!handler) {
      this.fail(new UnknownTaskTypeError(leased.type));
      this.settle();
      return;
    }
    if (this.timeoutMs !== undefined) {
      const timeoutMs = this.timeoutMs;
      this.timer = clock.setTimeout(() => this.expire(timeoutMs), timeoutMs);
    }
    let outcome: Promise<unknown>;
    try {
      outcome = Promise.resolve(handler(this.context()));
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome
      .then(
        (value) => this.succeed(value),
        (error: unknown) => this.fail(error),
      )
      .finally(() => this.settle());
  }

  /** The server cancelled the attempt: abort the handler and report "cancelled". */
  cancel(reason: string): void {
    if (this.decided) return;
    this.abort(new TaskCancelledError(reason));
    this.decide({ message: "cancelled", type: "CancelledError", nonRetryable: false }, undefined);
  }

  /** The lease is gone: abort the handler with `reason` and never report a result. */
  drop(reason: Error): void {
    if (this.decided) return;
    this.decided = true;
    this.stopTimers();
    this.abort(reason);
    this.options.events.emit("task:lost", { task: this.info, reason: reason.message });
  }

  /** Aborts the handler's signal (if not yet aborted) without deciding anything. */
  abort(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  private context(): TaskContext {
    const { leased, logger } = this.options;
    let child: Logger | undefined;
    const info = this.info;
    return {
      ...info,
      payload: decodePayload(leased),
      labels: { ...leased.labels },
      createdAt: leased.createdAt ? timestampDate(leased.createdAt) : undefined,
      timeoutMs: this.timeoutMs,
      signal: this.controller.signal,
      get logger() {
        child ??= logger.child({ taskId: info.id, attempt: info.attempt, type: info.type });
        return child;
      },
      progress: (percent, message) => this.throttle.report(percent, message),
    };
  }

  private succeed(value: unknown): void {
    if (this.decided) return;
    let result: TaskResult;
    try {
      result = create(TaskResultSchema, {
        taskId: this.info.id,
        leaseToken: this.info.leaseToken,
        outcome: { case: "success", value: encodeSuccess(value) },
      });
    } catch (error) {
      this.fail(error);
      return;
    }
    this.decided = true;
    this.stopTimers();
    this.options.events.emit("task:completed", { task: this.info, durationMs: this.elapsed() });
    this.options.hooks.onOutcome(this, result);
  }

  private fail(error: unknown): void {
    if (this.decided) return;
    this.decide(failureFromError(error), error);
  }

  private expire(timeoutMs: number): void {
    this.timer = undefined;
    if (this.decided) return;
    const error = new TaskTimeoutError(timeoutMs);
    this.abort(error);
    this.decide({ message: error.message, type: "TimeoutError", nonRetryable: false }, error);
  }

  private decide(failure: FailureInfo, error: unknown): void {
    this.decided = true;
    this.stopTimers();
    const result = create(TaskResultSchema, {
      taskId: this.info.id,
      leaseToken: this.info.leaseToken,
      outcome: { case: "failure", value: encodeFailure(failure) },
    });
    this.options.events.emit("task:failed", {
      task: this.info,
      durationMs: this.elapsed(),
      failure,
      error: error ?? this.controller.signal.reason,
    });
    this.options.hooks.onOutcome(this, result);
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.stopTimers();
    this.options.hooks.onSettled(this);
  }

  private stopTimers(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.throttle.close();
  }

  private elapsed(): number {
    return this.options.clock.now() - this.startedAt;
  }
}
