/** Options for {@link Batcher}. */
export interface BatcherOptions<T, R> {
  /** Writes one batch; returns one result per item, in order. */
  flush: (items: T[]) => Promise<R[]>;
  /**
   * How long the first item of a batch waits for company, ms. 0: no timer. With nothing
   * in flight, the batch is written once the current task's microtasks have run (only the
   * callers of that task share it); with batches in flight, at the end of the event-loop
   * turn, and batches also grow while earlier ones are in flight.
   */
  windowMs: number;
  /**
   * With a window: once this many items wait, the window closes early and the batch goes
   * out as if there were no window (under load, batches are big without waiting). Default
   * `maxBatch`.
   */
  windowItems?: number;
  /** Largest batch; a full batch is flushed at once. A single larger group is kept whole. */
  maxBatch: number;
  /** How many batches may be in flight at once. */
  maxInFlight: number;
  /**
   * With a key per item, batches in flight never share a key, and a key's items are
   * written in the order submitted: a group that shares a key with a batch in flight, or
   * with an earlier group still waiting, waits too. (Concurrent transactions then never
   * touch the same rows: no lock waits, no deadlocks.)
   */
  keyOf?: (item: T) => string;
  /**
   * Errors that blame some item of the batch rather than the store (Postgres refusing a
   * value): a batch of several callers that fails with one is split in halves, and the
   * halves written one after the other, until each failing caller fails alone. Callers
   * batched with a guilty one are then answered as if it had never been there. Other errors
   * (the store unreachable) fail every caller of the batch at once.
   */
  isolate?: (error: unknown) => boolean;
  /** Told about every `flush` call: items, duration in seconds, whether it threw (metrics). */
  onFlushed?: (items: number, seconds: number, failed: boolean) => void;
}

/** Items handed in by one caller, answered together. */
interface Group<T, R> {
  items: T[];
  /** The items' keys, with a `keyOf` option. */
  keys: string[] | undefined;
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
  private drainQueued = false;
  private inFlight = 0;
  private readonly inFlightKeys = new Set<string>();
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
      const keyOf = this.options.keyOf;
      this.pending.push({ items, keys: keyOf ? items.map(keyOf) : undefined, resolve, reject });
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
    const wait = this.options.windowMs > 0 && this.pendingItems < (this.options.windowItems ?? this.options.maxBatch);
    if (!wait && this.timer !== undefined) this.clearTimer(); // enough company: the window closes early
    if (this.timer !== undefined || this.drainQueued) return;
    if (wait) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, this.options.windowMs);
    } else {
      // Idle: go as soon as this task's microtasks have run. Busy: also gather what the rest
      // of this event-loop turn brings (other sockets' reads), for bigger batches.
      this.drainQueued = true;
      const go = () => {
        this.drainQueued = false;
        this.drain();
      };
      if (this.inFlight === 0) queueMicrotask(go);
      else setImmediate(go);
    }
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private drain(): void {
    while (this.pending.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.takeBatch();
      if (batch.length === 0) return; // every waiting group shares a key with a batch in flight
      this.inFlight++;
      void this.run(batch);
    }
  }

  /**
   * Whole groups, oldest first, up to `maxBatch` items (at least one group), skipping the
   * groups that must wait for a key in flight (and, to keep each key's order, the later
   * groups sharing a key with a skipped one).
   */
  private takeBatch(): Group<T, R>[] {
    const taken: Group<T, R>[] = [];
    const waiting: Group<T, R>[] = [];
    const skippedKeys = new Set<string>();
    let count = 0;
    let i = 0;
    for (; i < this.pending.length; i++) {
      const group = this.pending[i]!;
      if (taken.length > 0 && count + group.items.length > this.options.maxBatch) break; // full: the rest waits, in order
      if (group.keys && group.keys.some((k) => this.inFlightKeys.has(k) || skippedKeys.has(k))) {
        for (const k of group.keys) skippedKeys.add(k);
        waiting.push(group);
        continue;
      }
      taken.push(group);
      count += group.items.length;
      if (group.keys) for (const k of group.keys) this.inFlightKeys.add(k);
    }
    this.pending = i < this.pending.length ? waiting.concat(this.pending.slice(i)) : waiting;
    this.pendingItems -= count;
    return taken;
  }

  private async run(batch: Group<T, R>[]): Promise<void> {
    try {
      await this.write(batch);
    } finally {
      for (const group of batch) if (group.keys) for (const k of group.keys) this.inFlightKeys.delete(k);
      this.inFlight--;
      if (this.pending.length > 0) this.drain();
      else if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((w) => w());
    }
  }

  /**
   * Flushes the groups' items in one call and answers each group; on an error that
   * `isolate` names, writes each half of the groups on its own instead (in order, so a key's
   * writes keep their order), down to single groups.
   */
  private async write(batch: Group<T, R>[]): Promise<void> {
    let results: R[];
    const items = batch.length === 1 ? batch[0]!.items : batch.flatMap((g) => g.items);
    const startNs = this.options.onFlushed ? process.hrtime.bigint() : 0n;
    try {
      results = await this.options.flush(items);
      this.options.onFlushed?.(items.length, Number(process.hrtime.bigint() - startNs) / 1e9, false);
    } catch (error) {
      this.options.onFlushed?.(items.length, Number(process.hrtime.bigint() - startNs) / 1e9, true);
      if (batch.length > 1 && this.options.isolate?.(error)) {
        const half = Math.ceil(batch.length / 2);
        await this.write(batch.slice(0, half));
        await this.write(batch.slice(half));
        return;
      }
      for (const group of batch) group.reject(error);
      return;
    }
    let offset = 0;
    for (const group of batch) {
      group.resolve(batch.length === 1 ? results : results.slice(offset, offset + group.items.length));
      offset += group.items.length;
    }
  }
}
