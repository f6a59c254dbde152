/**
 * A single-consumer message queue exposed as an async iterable: the session pushes
 * requests into it and the RPC client pulls them to write on the stream. Closing it ends
 * the iteration once the queued messages have been taken (a half-close of the stream).
 */
export class Outbox<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private waiter: ((result: IteratorResult<T>) => void) | undefined;
  private closed = false;
  private iterator: AsyncIterator<T> | undefined;

  /** True once {@link Outbox.close} ran or the consumer stopped iterating. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Messages queued and not yet taken by the consumer. */
  get size(): number {
    return this.queue.length;
  }

  /** Queues a message; returns false (and drops it) when the outbox is closed. */
  push(message: T): boolean {
    if (this.closed) return false;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter({ value: message, done: false });
    } else {
      this.queue.push(message);
    }
    return true;
  }

  /** Ends the iteration after the queued messages; later pushes are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /**
   * Returns the outbox's single iterator; asking again returns the same iterator (RPC
   * clients do so to call `return` or `throw` on it when a call ends).
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    this.iterator ??= {
      next: () => {
        const message = this.queue.shift();
        if (message !== undefined) return Promise.resolve({ value: message, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: () => this.stop(),
      throw: () => this.stop(),
    };
    return this.iterator;
  }

  private stop(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }
}
