import type { Logger } from "./logger.js";
import type { TaskContext } from "./task-context.js";

/** What a {@link HandlerContext} asks of its running task, each created on first use. */
export interface HandlerContextSource {
  /** The attempt's abort signal. */
  readonly signal: AbortSignal;
  /** Logger bound to the attempt. */
  readonly logger: Logger;
  /** The attempt's progress function (bound, so handlers may destructure it). */
  readonly progress: (percent: number, message?: string) => void;
}

/**
 * The {@link TaskContext} given to a handler. The task's fields are own properties; the
 * signal, logger and progress function are getters, so that a handler that never uses them
 * costs neither an AbortController nor a child logger.
 */
export class HandlerContext<P = unknown> implements TaskContext<P> {
  readonly #source: HandlerContextSource;

  /** Creates the context of one attempt. */
  constructor(
    source: HandlerContextSource,
    readonly id: string,
    readonly queue: string,
    readonly type: string,
    readonly attempt: number,
    readonly maxAttempts: number,
    readonly leaseToken: string,
    readonly payload: P,
    readonly labels: Readonly<Record<string, string>>,
    readonly createdAtMs: number | undefined,
    readonly timeoutMs: number | undefined,
  ) {
    this.#source = source;
  }

  /** When the task was submitted, if the server said (whole milliseconds). */
  get createdAt(): Date | undefined {
    return this.createdAtMs === undefined ? undefined : new Date(this.createdAtMs);
  }

  /** Aborted when the attempt is cancelled, times out or loses its lease. */
  get signal(): AbortSignal {
    return this.#source.signal;
  }

  /** Logger bound to this task's id and attempt. */
  get logger(): Logger {
    return this.#source.logger;
  }

  /** Reports progress (0-100), throttled per task. */
  get progress(): (percent: number, message?: string) => void {
    return this.#source.progress;
  }
}
