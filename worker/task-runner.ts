import { AttemptSpan } from "./attempt-span.js";
import type { Logger } from "./logger.js";
import type { Clock, TimerHandle } from "./clock.js";
import { TaskCancelledError, TaskTimeoutError, UnknownTaskTypeError } from "./errors.js";
import type { TypedEmitter, WorkerEvents } from "./events.js";
import { HandlerContext, type HandlerContextSource } from "./handler-context.js";
import { decodePayload, failureFromError, successValue, type FailureInfo } from "./payload.js";
import { ProgressThrottle } from "./progress-throttle.js";
import type { TaskHandler, TaskInfo } from "./task-context.js";
import { PayloadKind, type AssignedTask } from "./wire/assignment.js";
import type { OutgoingResult } from "./wire/task-results.js";

/** Callbacks through which a {@link RunningTask} reports to its session. */
export interface RunningTaskHooks {
  /** The attempt's outcome is decided: `result` should be sent. Called at most once. */
  onOutcome(task: RunningTask, result: OutgoingResult): void;
  /** The handler settled (or never started): its slot is free. Called exactly once. */
  onSettled(task: RunningTask): void;
  /** A progress report that passed the throttle. */
  onProgress(task: RunningTask, percent: number, message: string): void;
}

/** What the tasks of one session share. */
export interface TaskEnvironment {
  /** Parent logger; a task logs through a child bound to its id. */
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
 * or not at all when the lease is lost (dropped). The abort signal, progress throttle,
 * child logger and event payloads are only built when something uses them.
 */
export class RunningTask implements HandlerContextSource {
  private controller: AbortController | undefined;
  /** The first abort reason, kept while no signal was asked for. */
  private abortReason: Error | undefined;
  private throttle: ProgressThrottle | undefined;
  private progressFunction: ((percent: number, message?: string) => void) | undefined;
  private childLogger: Logger | undefined;
  private infoObject: TaskInfo | undefined;
  private timer: TimerHandle | undefined;
  private startedAt = 0;
  private decided = false;
  private settled = false;
  /** The attempt's span, when the task carries a trace context. */
  private span: AttemptSpan | undefined;

  /** Prepares the attempt; nothing runs before {@link RunningTask.start}. */
  constructor(
    private readonly env: TaskEnvironment,
    private readonly leased: AssignedTask,
    private readonly handler: TaskHandler | undefined,
  ) {}

  /** Task id. */
  get id(): string {
    return this.leased.taskId;
  }

  /** Fencing token of the attempt's lease. */
  get leaseToken(): string {
    return this.leased.leaseToken;
  }

  /** Identity of the attempt, as carried by task events. */
  get info(): TaskInfo {
    const leased = this.leased;
    this.infoObject ??= {
      id: leased.taskId,
      queue: leased.queue,
      type: leased.type,
      attempt: leased.attempt,
      maxAttempts: leased.maxAttempts,
      leaseToken: leased.leaseToken,
    };
    return this.infoObject;
  }

  /** True once the outcome is decided or the task was dropped. */
  get isDecided(): boolean {
    return this.decided;
  }

  /** True once the handler settled. */
  get isSettled(): boolean {
    return this.settled;
  }

  /** The handler's abort signal. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** Logger bound to the attempt. */
  get logger(): Logger {
    const { taskId, attempt, type } = this.leased;
    this.childLogger ??= this.env.logger.child({ taskId, attempt, type });
    return this.childLogger;
  }

  /** The handler's progress function. */
  get progress(): (percent: number, message?: string) => void {
    this.progressFunction ??= (percent, message) => this.reportProgress(percent, message);
    return this.progressFunction;
  }

  /** Starts the handler (or fails at once when the type has no handler). */
  start(): void {
    const { clock, events } = this.env;
    const handler = this.handler;
    this.startedAt = clock.now();
    this.span = AttemptSpan.start(this.leased);
    if (events.hasListeners("task:started")) events.emit("task:started", { task: this.info });
    if (!handler) {
      this.fail(new UnknownTaskTypeError(this.leased.type));
      this.settle();
      return;
    }
    const timeoutMs = this.leased.timeoutMs;
    if (timeoutMs > 0) this.timer = clock.setTimeout(() => this.expire(timeoutMs), timeoutMs);
    // In the attempt's span, the handler and what follows its outcome (events, log lines).
    if (this.span) this.span.run(() => this.invoke(handler));
    else this.invoke(handler);
  }

  /** Runs the handler and decides the attempt by what it returns or throws. */
  private invoke(handler: TaskHandler): void {
    let returned: unknown;
    try {
      returned = handler(this.context());
    } catch (error) {
      this.finish(false, error);
      return;
    }
    if (returned instanceof Promise) {
      returned.then(
        (value: unknown) => this.finish(true, value),
        (error: unknown) => this.finish(false, error),
      );
    } else if (returned !== null && (typeof returned === "object" || typeof returned === "function")) {
      // Possibly a thenable: let a promise adopt it.
      Promise.resolve(returned).then(
        (value: unknown) => this.finish(true, value),
        (error: unknown) => this.finish(false, error),
      );
    } else {
      this.finish(true, returned);
    }
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
    this.span?.end("lost", reason);
    this.stopTimers();
    this.abort(reason);
    this.env.events.emit("task:lost", { task: this.info, reason: reason.message });
  }

  /** Aborts the handler's signal (if not yet aborted) without deciding anything. */
  abort(reason: Error): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    if (this.controller && !this.controller.signal.aborted) this.controller.abort(reason);
  }

  private context(): HandlerContext {
    const leased = this.leased;
    const payload = decodePayload(leased);
    // The encoded JSON is a view of the whole received frame: let the frame go.
    if (leased.payloadKind === PayloadKind.json) leased.payload = undefined;
    return new HandlerContext(
      this,
      leased.taskId,
      leased.queue,
      leased.type,
      leased.attempt,
      leased.maxAttempts,
      leased.leaseToken,
      payload,
      leased.labels,
      leased.createdAtMs,
      leased.timeoutMs > 0 ? leased.timeoutMs : undefined,
    );
  }

  /** The handler returned `value` (ok) or threw it: decide if not decided yet, free the slot. */
  private finish(ok: boolean, value: unknown): void {
    try {
      if (ok) this.succeed(value);
      else this.fail(value);
    } finally {
      this.settle();
    }
  }

  private reportProgress(percent: number, message?: string): void {
    if (this.decided) return;
    this.throttle ??= new ProgressThrottle({
      intervalMs: this.env.progressIntervalMs,
      clock: this.env.clock,
      send: (value, text) => {
        if (!this.decided) this.env.hooks.onProgress(this, value, text);
      },
    });
    this.throttle.report(percent, message);
  }

  private succeed(value: unknown): void {
    if (this.decided) return;
    let output: OutgoingResult["value"];
    try {
      output = successValue(value);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.decided = true;
    this.stopTimers();
    this.span?.end("succeeded");
    const { events, hooks } = this.env;
    if (events.hasListeners("task:completed")) {
      events.emit("task:completed", { task: this.info, durationMs: this.elapsed() });
    }
    hooks.onOutcome(this, { taskId: this.leased.taskId, leaseToken: this.leased.leaseToken, kind: "success", value: output });
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
    if (this.span) {
      const outcome = failure.type === "TimeoutError" ? "timeout" : failure.type === "CancelledError" ? "cancelled" : failure.nonRetryable ? "fatal" : "failed";
      this.span.end(outcome, error ?? this.abortReason);
    }
    const { events, hooks } = this.env;
    if (events.hasListeners("task:failed")) {
      events.emit("task:failed", {
        task: this.info,
        durationMs: this.elapsed(),
        failure,
        error: error ?? this.abortReason,
      });
    }
    hooks.onOutcome(this, { taskId: this.leased.taskId, leaseToken: this.leased.leaseToken, kind: "failure", value: failure });
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.stopTimers();
    this.env.hooks.onSettled(this);
  }

  private stopTimers(): void {
    if (this.timer !== undefined) this.env.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.throttle?.close();
  }

  private elapsed(): number {
    return this.env.clock.now() - this.startedAt;
  }
}
