import type { ConnectError } from "@connectrpc/connect";

/**
 * Ends a stream's responses with an error raised from outside (a revoked token, a refused
 * message). Each wait for the next response registers one rejection callback that replaces the
 * previous one, so a stream that lives for millions of messages holds nothing per message
 * (racing every read against one long-lived promise would keep a reaction per message until
 * the stream ends).
 */
export class StreamGuard {
  private failure: ConnectError | undefined;
  private interruptWait: ((error: ConnectError) => void) | undefined;

  /** Ends the stream with `error` (the first call wins). */
  fail(error: ConnectError): void {
    if (this.failure) return;
    this.failure = error;
    this.interruptWait?.(error);
  }

  /** The responses of `source` until it ends or the stream fails; `onEnd` runs once at the end. */
  async *race<T>(source: AsyncIterable<T>, onEnd?: () => void): AsyncGenerator<T> {
    const iterator = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        const result = await this.nextOf(iterator);
        if (result.done) return;
        yield result.value;
      }
    } finally {
      this.interruptWait = undefined;
      onEnd?.();
      // The handler sees its call end (signal aborted) and finishes; its pending read is dropped.
      void iterator.return?.()?.catch(() => undefined);
    }
  }

  private nextOf<T>(iterator: AsyncIterator<T>): Promise<IteratorResult<T>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      this.interruptWait = reject;
      iterator.next().then(resolve, reject);
    });
  }
}
