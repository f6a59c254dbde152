import type { PublishedSession } from "../redis/cluster-directory.js";
import type { LeasedRecord } from "../redis/queue-store.js";

/** One lease a session holds: the task's queue and the lease's token. */
export interface HeldLease {
  readonly queue: string;
  readonly leaseToken: string;
}

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
   * Most tasks the stream may hold at once (its hello's capacity, at least 1), and the most
   * unused credit it may have. A task is held from its lease until its result is fenced, so
   * a worker that frees slots faster than results can be recorded never accumulates more
   * than this.
   */
  readonly capacity: number;
  /** Tasks leased to it that have not been answered: id → the lease it holds. */
  readonly held: Map<string, HeldLease>;
  /** True once the stream is closing: nothing more is sent. */
  readonly closed: boolean;
  /** True once the worker or server is draining: no more tasks. */
  readonly draining: boolean;
  /**
   * True while the stream cannot be written to (its client leaves responses unread past the
   * buffer bound): no tasks are leased to it. Absent counts as false.
   */
  readonly blocked?: boolean;
  /** What the cluster directory shows of the session (absent: not shown). */
  describe?(): PublishedSession;
  /** Pushes leased tasks (one stream write). */
  deliver(tasks: LeasedRecord[]): void;
  /** Pushes a cancel for one task. */
  cancel(taskId: string, leaseToken: string, reason: string): void;
  /** Tells the worker the server is draining. */
  drain(deadline: Date, reason: string): void;
  /**
   * Ends the stream from the server side. Without `error`: once every result it sent is
   * answered, with status OK. With one: at once, with that error as its status (queued
   * messages are dropped). Resolves once the stream has closed and its leases are released
   * (at once, for a stream that had closed already).
   */
  end(error?: Error): Promise<void>;
}
