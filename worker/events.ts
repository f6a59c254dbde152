import type { FailureInfo } from "./payload.js";
import type { TaskInfo } from "./task-context.js";

/** Verdict on a result, as reported by the server. */
export type AckStatus = "accepted" | "stale" | "rejected";

/** Running totals of acknowledgements received by a worker. */
export interface AckCounts {
  /** Results recorded durably. */
  accepted: number;
  /** Results for leases that were no longer current. */
  stale: number;
  /** Results the server found invalid. */
  rejected: number;
}

/** Why a session (one stream) ended. */
export type SessionEndReason =
  /** The server ended the stream. */
  | "ended"
  /** The stream failed (network or server error). */
  | "failed"
  /** No welcome in time, or the server went silent for three heartbeat intervals. */
  | "deaf"
  /** The server asked to drain and the session finished what it held. */
  | "drained"
  /** The worker was stopped. */
  | "stopped";

/** Events of a worker and their payloads. */
export interface WorkerEvents {
  /** A session was opened. */
  welcome: {
    sessionId: string;
    serverId: string;
    leaseDurationMs: number;
    heartbeatIntervalMs: number;
  };
  /** A handler started. */
  "task:started": { task: TaskInfo };
  /** A handler returned; its result is about to be sent. */
  "task:completed": { task: TaskInfo; durationMs: number };
  /** An attempt failed (handler error, timeout or cancellation); the failure is about to be sent. */
  "task:failed": { task: TaskInfo; durationMs: number; failure: FailureInfo; error: unknown };
  /** A task lost its lease with its stream; no result is sent (the server requeues it). */
  "task:lost": { task: TaskInfo; reason: string };
  /** The server answered a result. */
  ack: {
    taskId: string;
    leaseToken: string;
    status: AckStatus;
    message: string;
    counts: Readonly<AckCounts>;
  };
  /** The server asked the worker to drain (it is shutting down). */
  drain: { reason: string; deadline: Date | undefined };
  /** A session ended. */
  disconnected: { reason: SessionEndReason; error: unknown; welcomed: boolean; lostTasks: number };
  /** The worker waits `delayMs` before opening session number `attempt` of this outage. */
  reconnecting: { attempt: number; delayMs: number };
  /**
   * The started worker stopped: once `stop()` is done (`error` undefined), or because the server refused its
   * hello with INVALID_ARGUMENT or FAILED_PRECONDITION (`error` is the server's ConnectError;
   * a refused first session also rejects `start()`).
   */
  stopped: { error: Error | undefined };
  /** Something went wrong that the worker recovers from (stream errors, protocol violations). */
  error: Error;
}

/** A listener of event `E`. */
export type Listener<Events, E extends keyof Events> = (payload: Events[E]) => void;

/**
 * A minimal typed event emitter. Unlike Node's EventEmitter, an "error" event without a
 * listener is not thrown, and a throwing listener is reported to `onListenerError` instead
 * of disturbing the emitter.
 */
export class TypedEmitter<Events> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Creates an emitter; `onListenerError` receives errors thrown by listeners. */
  constructor(private readonly onListenerError: (error: unknown, event: keyof Events) => void) {}

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Listener<Events, E>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  /** Adds a listener called at most once; returns a function that removes it. */
  once<E extends keyof Events>(event: E, listener: Listener<Events, E>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Removes a listener added with {@link TypedEmitter.on}. */
  off<E extends keyof Events>(event: E, listener: Listener<Events, E>): void {
    this.listeners.get(event)?.delete(listener as (payload: never) => void);
  }

  /** True when `event` has a listener: callers skip building payloads nobody receives. */
  hasListeners(event: keyof Events): boolean {
    const set = this.listeners.get(event);
    return set !== undefined && set.size > 0;
  }

  /** Calls every listener of `event` with `payload`, in the order they were added. */
  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    if (set.size === 1) {
      // One listener: no snapshot needed (a listener added meanwhile must wait for the next emit).
      const [listener] = set;
      this.call(listener as Listener<Events, E>, payload, event);
      return;
    }
    for (const listener of [...set]) this.call(listener as Listener<Events, E>, payload, event);
  }

  private call<E extends keyof Events>(listener: Listener<Events, E>, payload: Events[E], event: E): void {
    try {
      listener(payload);
    } catch (error) {
      this.onListenerError(error, event);
    }
  }
}
