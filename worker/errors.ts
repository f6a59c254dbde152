/**
 * Typed errors of the worker SDK. Handlers throw {@link NonRetryableError}; the others are
 * raised by the SDK itself, mostly as the reason of a task's aborted `AbortSignal`.
 */

/** Options of {@link NonRetryableError}. */
export interface NonRetryableErrorOptions {
  /** The underlying error, kept for logs. */
  cause?: unknown;
  /** Error class or code reported as the failure's `type`. Default "NonRetryableError". */
  type?: string;
}

/**
 * Thrown by a handler when retrying cannot help (bad input, a missing record): the attempt
 * is reported with `non_retryable: true` and the server moves the task to DEAD at once.
 */
export class NonRetryableError extends Error {
  /** Reported as the failure's `type`. */
  readonly type: string;

  /** Creates the error; `options.type` overrides the reported failure type. */
  constructor(message: string, options: NonRetryableErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NonRetryableError";
    this.type = options.type ?? "NonRetryableError";
  }
}

/** The worker options are invalid; `field` names the offending option. */
export class WorkerOptionsError extends Error {
  /** The option at fault, e.g. "concurrency". */
  readonly field: string;

  /** Creates the error for `field`. */
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "WorkerOptionsError";
    this.field = field;
  }
}

/** Abort reason of a task whose execution timeout elapsed; reported as a retryable failure. */
export class TaskTimeoutError extends Error {
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  /** Creates the error for a timeout of `timeoutMs`. */
  constructor(timeoutMs: number) {
    super(`task timed out after ${timeoutMs} ms`);
    this.name = "TimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** Abort reason of a task the server cancelled. */
export class TaskCancelledError extends Error {
  /** Creates the error; `reason` is the server's explanation, if any. */
  constructor(reason?: string) {
    super(reason ? `cancelled: ${reason}` : "cancelled");
    this.name = "CancelledError";
  }
}

/**
 * Abort reason of a task whose stream dropped: its lease is lost (the server requeues the
 * task) and its result is discarded.
 */
export class ConnectionLostError extends Error {
  /** Creates the error. */
  constructor() {
    super("connection lost");
    this.name = "ConnectionLostError";
  }
}

/** Abort reason of a task still running when a graceful stop ran out of time. */
export class WorkerStoppingError extends Error {
  /** Creates the error. */
  constructor() {
    super("worker stopping");
    this.name = "WorkerStoppingError";
  }
}

/** The server broke the worker protocol (e.g. sent more tasks than credits granted). */
export class ProtocolError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** A task arrived whose type has no handler on this worker. */
export class UnknownTaskTypeError extends Error {
  /** The task type without a handler. */
  readonly taskType: string;

  /** Creates the error for `taskType`. */
  constructor(taskType: string) {
    super(`no handler for task type "${taskType}"`);
    this.name = "UnknownTaskTypeError";
    this.taskType = taskType;
  }
}
