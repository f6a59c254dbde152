import type { LeasedRecord } from "../redis/queue-store.js";

/**
 * The engine's view of one connected worker stream: what it serves, how much credit it
 * has granted, which tasks it holds, and how to push messages to it. The protocol handler
 * implements the push side.
 */
export interface DispatchSession {
  /** Unique per stream. */
  readonly id: string;
  /** The worker's own id from its hello. */
  readonly workerId: string;
  /** Queues it takes tasks from. */
  readonly queues: readonly string[];
  /** Credits granted and not yet used. */
  credits: number;
  /**
   * Most tasks the stream may hold at once (its hello's capacity; 0 = no limit beyond the
   * credits). A task is held from its lease until its result is recorded, so a worker that
   * frees slots faster than results can be recorded never accumulates more than this.
   */
  readonly capacity: number;
  /** Ids of tasks leased to it that have not been answered. */
  readonly held: Set<string>;
  /** True once the stream is closing: nothing more is sent. */
  readonly closed: boolean;
  /** True once the worker or server is draining: no more tasks. */
  readonly draining: boolean;
  /**
   * True while the stream cannot be written to (its client leaves responses unread past the
   * buffer bound): no tasks are leased to it. Absent counts as false.
   */
  readonly blocked?: boolean;
  /** Pushes leased tasks (one stream write). */
  deliver(tasks: LeasedRecord[]): void;
  /** Pushes a cancel for one task. */
  cancel(taskId: string, leaseToken: string, reason: string): void;
  /** Tells the worker the server is draining. */
  drain(deadline: Date, reason: string): void;
}
