/**
 * An unbounded single-consumer queue readable as an async iterable: producers `push`,
 * the consumer iterates; `close` ends the iteration after what is queued, `fail` ends it
 * with an error.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: ((result: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((error: unknown) => void) | undefined;
  private closed = false;
  private error: unknown;
  private failed = false;

  /** Queues an item; ignored after close. */
  push(item: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.clearWaiters();
      w({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  /** True once closed or failed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends the iteration once the queued items are consumed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.waiter && this.items.length === 0) {
      const w = this.waiter;
      this.clearWaiters();
      w({ value: undefined, done: true });
    }
  }

  /** Ends the iteration at once with `error` (queued items are dropped). */
  fail(error: unknown): void {
    if (this.failed) return;
    this.closed = true;
    this.failed = true;
    this.error = error;
    this.items.length = 0;
    if (this.failWaiter) {
      const f = this.failWaiter;
      this.clearWaiters();
      f(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.failed) return Promise.reject(this.error);
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          this.waiter = resolve;
          this.failWaiter = reject;
        });
      },
      return: () => {
        this.close();
        this.items.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (error: unknown) => {
        this.fail(error);
        return Promise.reject(error);
      },
    };
  }

  private clearWaiters(): void {
    this.waiter = undefined;
    this.failWaiter = undefined;
  }
}
