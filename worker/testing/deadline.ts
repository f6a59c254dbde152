import type { WorkerEvents } from "../events.js";

/**
 * Waiting helpers for tests: every wait has a deadline and fails with a message naming
 * what was awaited, so a broken test fails fast instead of hanging.
 */

/** Resolves like `promise`, or rejects once `ms` have passed. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Something that emits worker events, like a worker. */
export interface WorkerEventSource {
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof WorkerEvents>(event: E, listener: (payload: WorkerEvents[E]) => void): () => void;
}

/** Resolves with the first `event` whose payload matches `predicate`, within `ms`. */
export function nextEvent<E extends keyof WorkerEvents>(
  source: WorkerEventSource,
  event: E,
  ms: number,
  predicate: (payload: WorkerEvents[E]) => boolean = () => true,
): Promise<WorkerEvents[E]> {
  let off: () => void = () => {};
  const promise = new Promise<WorkerEvents[E]>((resolve) => {
    off = source.on(event, (payload) => {
      if (!predicate(payload)) return;
      off();
      resolve(payload);
    });
  });
  return withDeadline(promise, ms, `event ${String(event)}`).finally(() => off());
}

/**
 * A FIFO whose reads wait, with a deadline, for the next item; `end` makes pending and
 * later reads fail once the queue is empty.
 */
export class WaitQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<{ resolve: (item: T) => void; reject: (error: Error) => void }> = [];
  private endError: Error | undefined;

  /** Items received and not yet read. */
  get size(): number {
    return this.items.length;
  }

  /** Adds an item, handing it to the oldest waiting reader if any. */
  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.items.push(item);
  }

  /** No more items will come: waiting and later reads fail with `error` once drained. */
  end(error: Error): void {
    this.endError ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /** Reads the next item, waiting up to `ms`. */
  next(ms: number, what: string): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    if (this.endError) return Promise.reject(this.endError);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        // Forget the reader that gave up so it does not swallow a later item.
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.waiters.push(waiter);
    });
  }
}
