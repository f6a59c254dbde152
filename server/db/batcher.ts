/** Options for {@link Batcher}. */
export interface BatcherOptions<T, R> {
  /** Writes one batch; returns one result per item, in order. */
  flush: (items: T[]) => Promise<R[]>;
  /** How long the first item of a batch waits for company, ms (0: next tick). */
  windowMs: number;
  /** Largest batch; a full batch is flushed at once. */
  maxBatch: number;
  /** How many batches may be in flight at once. */
  maxInFlight: number;
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: gathers items submitted concurrently for a short window and hands them
 * to one `flush` call; each caller's promise settles when its batch has been written.
 */
export class Batcher<T, R> {
  private pending: Pending<T, R>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly options: BatcherOptions<T, R>) {}

  /** Queues one item; resolves with its result once its batch is written. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Queues many items at once; resolves with their results in order. */
  submitMany(items: T[]): Promise<R[]> {
    return Promise.all(items.map((item) => this.submit(item)));
  }

  /** Resolves once nothing is pending or in flight. */
  idle(): Promise<void> {
    if (this.pending.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.pending.length >= this.options.maxBatch) {
      this.clearTimer();
      this.drain();
      return;
    }
    if (this.timer !== undefined) return;
    const fire = () => {
      this.timer = undefined;
      this.drain();
    };
    this.timer = this.options.windowMs > 0 ? setTimeout(fire, this.options.windowMs) : setImmediate(fire) as unknown as NodeJS.Timeout;
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    clearImmediate(this.timer as unknown as NodeJS.Immediate);
    this.timer = undefined;
  }

  private drain(): void {
    while (this.pending.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.run(batch);
    }
  }

  private async run(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.options.flush(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i] as R));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.inFlight--;
      if (this.pending.length > 0) this.drain();
      else if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((w) => w());
    }
  }
}
