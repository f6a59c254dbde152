import type { QueueOverviewItem } from "./queue-overview.js";

/** One queue in a {@link QueueSnapshot}: its figures and when they were read (epoch ms). */
export interface QueueSnapshotEntry {
  readonly item: QueueOverviewItem;
  /** When the read that produced `item` started (dates the oldest queued task's age). */
  readonly at: number;
}

/** Every queue's figures as one shared read saw them. */
export interface QueueSnapshot {
  /** Every queue, sorted by name. */
  readonly names: readonly string[];
  readonly entries: ReadonlyMap<string, QueueSnapshotEntry>;
  /** When the full read behind this snapshot started (epoch ms); its age bounds staleness. */
  readonly readAt: number;
}

/** Options for {@link QueueSnapshots}. */
export interface QueueSnapshotsOptions {
  /** Reads every queue's figures (sorted by name). */
  readAll: () => Promise<QueueOverviewItem[]>;
  /** Reads the figures of some queues, in order. */
  describe: (names: readonly string[]) => Promise<QueueOverviewItem[]>;
  /**
   * How long a full read serves later calls, ms. 0: every call reads (nothing is shared or
   * kept).
   */
  maxAgeMs: number;
  /** Clock in ms (injected so tests can control time). */
  now?: () => number;
}

/**
 * A short-lived snapshot of every queue's figures shared by the calls that list and describe
 * queues, so that many dashboards and pollers cost one read per `maxAgeMs`, not one per call.
 *
 * - **Single flight:** concurrent calls that need a read share the one in progress.
 * - **Freshness:** a call is answered from a snapshot whose read started less than `maxAgeMs`
 *   before the call, or after it. Control writes made through this server ({@link invalidate}:
 *   pause, resume, settings, cancels, dead-letter changes) mark their queues; the next call
 *   re-reads those queues (only those) before it answers, so a caller always sees its own
 *   control writes. Submits ({@link submitted}) are the hot path and are treated like dispatch:
 *   a submit to a queue the snapshot does not list yet marks it (a new queue appears at once),
 *   one to a listed queue shows in the list within `maxAgeMs`, and {@link peek} no longer
 *   answers for that queue until the next read (so GetQueue, which reads one queue, stays
 *   exact for its caller's submits). Changes made elsewhere (other servers, dispatch, results)
 *   show within `maxAgeMs`.
 * - It caches data only: who may see what is decided per call by the caller.
 */
export class QueueSnapshots {
  private readonly now: () => number;
  private current: QueueSnapshot | undefined;
  /** Queues written since the last read that covered them. */
  private dirty = new Set<string>();
  /** True when a write touched queues unknown here: the next read reads everything. */
  private dirtyAll = false;
  /** Listed queues submitted to through this server since the snapshot last read them. */
  private submittedSince = new Set<string>();
  /** Count of invalidations so far; a snapshot covers those counted before its read began. */
  private writes = 0;
  private covered = 0;
  private flight: Promise<void> | undefined;
  private fullReads = 0;
  private partialReads = 0;

  constructor(private readonly options: QueueSnapshotsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Reads made so far: full (every queue) and partial (queues written since). */
  get reads(): { full: number; partial: number } {
    return { full: this.fullReads, partial: this.partialReads };
  }

  /** Marks queues written through this server: the next {@link get} re-reads them. */
  invalidate(queues: Iterable<string>): void {
    for (const queue of queues) this.dirty.add(queue);
    this.writes += 1;
  }

  /**
   * Tells of tasks enqueued through this server: queues the snapshot does not list are marked
   * written (they appear in the next call); listed ones keep their figures until the window
   * ends, but {@link peek} stops answering for them. Costs a set lookup per queue, no read.
   */
  submitted(queues: Iterable<string>): void {
    const s = this.current;
    let unlisted: string[] | undefined;
    for (const queue of queues) {
      if (s === undefined || !s.entries.has(queue)) (unlisted ??= []).push(queue);
      else this.submittedSince.add(queue);
    }
    if (unlisted !== undefined) this.invalidate(unlisted);
  }

  /** Marks every queue written (a write whose queues are not known): the next {@link get} reads all. */
  invalidateAll(): void {
    this.dirtyAll = true;
    this.writes += 1;
  }

  /** A snapshot fresh enough for a call made now (see the class comment). */
  async get(): Promise<QueueSnapshot> {
    if (this.options.maxAgeMs === 0) return this.read();
    const calledAt = this.now();
    const wanted = this.writes;
    for (;;) {
      const s = this.current;
      if (s !== undefined && this.covered >= wanted && calledAt - s.readAt < this.options.maxAgeMs) return s;
      this.flight ??= this.refresh().finally(() => {
        this.flight = undefined;
      });
      await this.flight;
    }
  }

  /**
   * The figures of one queue if the current snapshot is fresh enough for a call made now (see
   * the class comment) and lists it; undefined otherwise. Never reads: a caller wanting one
   * queue reads that queue alone rather than every queue.
   */
  peek(name: string): QueueSnapshotEntry | undefined {
    const s = this.current;
    if (s === undefined || this.options.maxAgeMs === 0 || this.covered < this.writes) return undefined;
    if (this.submittedSince.has(name)) return undefined;
    return this.now() - s.readAt < this.options.maxAgeMs ? s.entries.get(name) : undefined;
  }

  /** Brings the snapshot up to date: the written queues alone while it is young, else everything. */
  private async refresh(): Promise<void> {
    const startedAt = this.now();
    const writes = this.writes;
    const dirty = this.dirty;
    const dirtyAll = this.dirtyAll;
    this.dirty = new Set();
    this.dirtyAll = false;
    const s = this.current;
    try {
      const partial =
        !dirtyAll &&
        s !== undefined && startedAt - s.readAt < this.options.maxAgeMs && [...dirty].every((q) => s.entries.has(q));
      if (partial) {
        this.partialReads += 1;
        const names = [...dirty];
        // Submits to these queues made from here on are not covered by this read.
        for (const name of names) this.submittedSince.delete(name);
        const items = await this.options.describe(names);
        const entries = new Map(s.entries);
        items.forEach((item) => entries.set(item.name, { item, at: startedAt }));
        this.current = { names: s.names, entries, readAt: s.readAt };
      } else {
        // Submits made during the read may or may not be in it: only the earlier ones are covered.
        this.submittedSince = new Set();
        this.current = await this.read(startedAt);
      }
      this.covered = writes;
    } catch (error) {
      for (const queue of dirty) this.dirty.add(queue);
      this.dirtyAll ||= dirtyAll;
      throw error;
    }
  }

  private async read(startedAt = this.now()): Promise<QueueSnapshot> {
    this.fullReads += 1;
    const items = await this.options.readAll();
    return {
      names: items.map((i) => i.name),
      entries: new Map(items.map((item) => [item.name, { item, at: startedAt }])),
      readAt: startedAt,
    };
  }
}
