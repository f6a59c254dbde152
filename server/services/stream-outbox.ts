import { StreamBufferError } from "./stream-limits.js";

/** Bytes queued over many outboxes (a metric), kept up to date by each of them. */
export interface BufferTotal {
  bytes: number;
}

/** Options for {@link StreamOutbox}. */
export interface StreamOutboxOptions {
  /** Bytes queued at which the outbox becomes congested (it stays so until half is left). */
  pauseBytes: number;
  /**
   * Bytes queued above which the outbox fails with {@link StreamBufferError} "buffer_full";
   * items pushed as `committed` count toward the pause bound only.
   */
  maxBytes: number;
  /** An outbox congested this long fails with {@link StreamBufferError} "not_reading", ms. */
  stallTimeoutMs: number;
  /** Told when the outbox becomes congested (true) and when it is no longer (false). */
  onCongestion?: (congested: boolean) => void;
  /** Told once, when the outbox fails because its consumer does not keep up. */
  onOverflow?: (error: StreamBufferError) => void;
  /** Adds this outbox's queued bytes to a total. */
  total?: BufferTotal;
}

/**
 * The responses of one stream waiting for the transport, counted in (estimated) bytes:
 * a single-consumer async queue like `AsyncQueue` that also tells when it holds too much.
 *
 * The transport takes the next response only when it can write it (grpc-js and Node's
 * HTTP/2 wait for `drain`, which HTTP/2 flow control withholds from a client that does not
 * read). So what piles up here is what the client has not read: past `pauseBytes` the
 * outbox is *congested* — its owner stops reading requests and stops producing work for
 * it — and past `maxBytes`, or after `stallTimeoutMs` of congestion, it fails. A response
 * pushed while the consumer waits goes straight to it and is not counted. Work the owner has
 * already committed to (leased tasks) is pushed as `committed`: it counts toward congestion,
 * never toward `maxBytes`, since failing would throw away what was just handed out.
 */
export class StreamOutbox<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  /** Bytes of each queued item; negative for committed items. */
  private readonly sizes: number[] = [];
  private bytes = 0;
  private committedBytes = 0;
  private isCongested = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private writableWaiters: Array<() => void> = [];
  private waiter: ((result: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((error: unknown) => void) | undefined;
  private closed = false;
  private failed = false;
  private error: unknown;

  constructor(private readonly options: StreamOutboxOptions) {}

  /**
   * Queues an item costing `bytes` (> 0); ignored after close. May fail the outbox (too much
   * queued), unless `committed`.
   */
  push(item: T, bytes: number, committed = false): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.clearWaiters();
      w({ value: item, done: false });
      return;
    }
    this.items.push(item);
    this.sizes.push(committed ? -bytes : bytes);
    this.bytes += bytes;
    if (committed) this.committedBytes += bytes;
    if (this.options.total) this.options.total.bytes += bytes;
    if (this.bytes - this.committedBytes > this.options.maxBytes) {
      this.overflow(
        new StreamBufferError("buffer_full", `responses not read by the client exceed ${this.options.maxBytes} bytes`),
      );
    } else if (!this.isCongested && this.bytes >= this.options.pauseBytes) {
      this.setCongested(true);
    }
  }

  /** True while the queued responses are over the pause bound (and not yet down to half). */
  get congested(): boolean {
    return this.isCongested;
  }

  /** Responses queued now. */
  get length(): number {
    return this.items.length;
  }

  /** Estimated bytes queued now. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** True once closed or failed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves once the outbox is not congested any more, or is closed. */
  whenWritable(): Promise<void> {
    if (!this.isCongested || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  /** Ends the iteration once the queued items are consumed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseWritableWaiters();
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
    this.drop();
    this.releaseWritableWaiters();
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
        if (this.items.length > 0) return Promise.resolve({ value: this.take(), done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          this.waiter = resolve;
          this.failWaiter = reject;
        });
      },
      return: () => {
        this.close();
        this.drop();
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (error: unknown) => {
        this.fail(error);
        return Promise.reject(error);
      },
    };
  }

  private take(): T {
    const size = this.sizes.shift()!;
    const bytes = Math.abs(size);
    if (size < 0) this.committedBytes -= bytes;
    this.bytes -= bytes;
    if (this.options.total) this.options.total.bytes -= bytes;
    if (this.isCongested && this.bytes <= this.options.pauseBytes / 2) this.setCongested(false);
    return this.items.shift() as T;
  }

  /** Forgets what is queued; the outbox is finished, so nobody is told it is no longer congested. */
  private drop(): void {
    if (this.options.total) this.options.total.bytes -= this.bytes;
    this.items.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
    this.committedBytes = 0;
    this.isCongested = false;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private overflow(error: StreamBufferError): void {
    if (this.failed) return;
    this.fail(error);
    this.options.onOverflow?.(error);
  }

  private setCongested(congested: boolean): void {
    this.isCongested = congested;
    if (congested) {
      this.stallTimer = setTimeout(() => {
        this.overflow(
          new StreamBufferError("not_reading", `responses waited ${this.options.stallTimeoutMs} ms for the client to read them`),
        );
      }, this.options.stallTimeoutMs);
      this.stallTimer.unref();
    } else {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
      this.releaseWritableWaiters();
    }
    this.options.onCongestion?.(congested);
  }

  private releaseWritableWaiters(): void {
    const waiters = this.writableWaiters;
    this.writableWaiters = [];
    for (const w of waiters) w();
  }

  private clearWaiters(): void {
    this.waiter = undefined;
    this.failWaiter = undefined;
  }
}
