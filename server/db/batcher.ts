/** Options for {@link Batcher}. */
export interface BatcherOptions<T, R> {
  /** Writes one batch; returns one result per item, in order. */
  flush: (items: T[]) => Promise<R[]>;
  /** How long the first item of a batch waits for company, ms (0: next tick). */
  windowMs: number;
  /** Largest batch; a full batch is flushed at once. A single larger group is kept whole. */
  maxBatch: number;
  /** How many batches may be in flight at once. */
  maxInFlight: number;
}

/** Items handed in by one caller, answered together. */
interface Group<T, R> {
  items: T[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: gathers items submitted concurrently for a short window and hands them
 * to one `flush` call; each caller's promise settles when its batch has been written.
 * A caller's items always travel in the same batch.
 */
export class Batcher<T, R> {
  private pending: Group<T, R>[] = [];
  private pendingItems = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private inFlight = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly options: BatcherOptions<T, R>) {}

  /** Queues one item; resolves with its result once its batch is written. */
  async submit(item: T): Promise<R> {
    const [result] = await this.submitMany([item]);
    return result as R;
  }

  /** Queues many items at once; resolves with their results in order once written. */
  submitMany(items: T[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      this.pendingItems += items.length;
      this.schedule();
    });
  }

  /** Resolves once nothing is pending or in flight. */
  idle(): Promise<void> {
    if (this.pending.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.pendingItems >= this.options.maxBatch) {
      this.clearTimer();
      this.drain();
      return;
    }
    if (this.timer !== undefined || this.immediate !== undefined) return;
    if (this.options.windowMs > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, this.options.windowMs);
    } else {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.drain();
      });
    }
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private drain(): void {
    while (this.pending.length > 0 && this.inFlight < this.options.maxInFlight) {
      this.inFlight++;
      void this.run(this.takeBatch());
    }
  }

  /** Whole groups, oldest first, up to `maxBatch` items (at least one group). */
  private takeBatch(): Group<T, R>[] {
    let count = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || count + this.pending[n]!.items.length <= this.options.maxBatch)) {
      count += this.pending[n]!.items.length;
      n++;
    }
    this.pendingItems -= count;
    return this.pending.splice(0, n);
  }

  private async run(batch: Group<T, R>[]): Promise<void> {
    try {
      const items = batch.length === 1 ? batch[0]!.items : batch.flatMap((g) => g.items);
      const results = await this.options.flush(items);
      let offset = 0;
      for (const group of batch) {
        group.resolve(batch.length === 1 ? results : results.slice(offset, offset + group.items.length));
        offset += group.items.length;
      }
    } catch (error) {
      for (const group of batch) group.reject(error);
    } finally {
      this.inFlight--;
      if (this.pending.length > 0) this.drain();
      else if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((w) => w());
    }
  }
}
