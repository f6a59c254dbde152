/**
 * The `queue` label value shared by every queue past the limit. A real queue may carry this
 * name too (`_` is allowed in queue names); its series are then merged with the overflow.
 */
export const OTHER_QUEUES_LABEL = "_other";

/** Options for {@link QueueLabels}. */
export interface QueueLabelsOptions {
  /** Most queues with series of their own; further queues are counted as {@link OTHER_QUEUES_LABEL}. */
  maxQueues: number;
  /** A queue that saw no activity for this long (and is not live) loses its series, ms. */
  ttlMs: number;
  /** Clock, ms since the epoch. */
  now: () => number;
}

/**
 * Bounds the `queue` label of the metrics: queue names come from clients, and a series per
 * name ever used would grow the registry (and every scrape) without end. A queue gets a
 * label of its own while fewer than `maxQueues` are tracked; it keeps it while it is active
 * (labelled again) or live (e.g. a connected worker serves it), and loses it `ttlMs` after
 * its last activity otherwise, which frees its place.
 */
export class QueueLabels {
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly options: QueueLabelsOptions) {}

  /** The label value for `queue` (its name, or the overflow value), counting as activity. */
  label(queue: string): string {
    const tracked = this.lastSeen.has(queue);
    if (!tracked && this.lastSeen.size >= this.options.maxQueues) return OTHER_QUEUES_LABEL;
    this.lastSeen.set(queue, this.options.now());
    return queue;
  }

  /** The label `queue` has now if it is tracked, without counting as activity; else undefined. */
  tracked(queue: string): string | undefined {
    return this.lastSeen.has(queue) ? queue : undefined;
  }

  /** Queues tracked now. */
  get size(): number {
    return this.lastSeen.size;
  }

  /**
   * Forgets the queues idle for `ttlMs` that are not in `live`, and returns them: their
   * series are to be removed.
   */
  expire(live: ReadonlySet<string>): string[] {
    const cutoff = this.options.now() - this.options.ttlMs;
    const expired: string[] = [];
    for (const [queue, seen] of this.lastSeen) {
      if (seen > cutoff) continue;
      if (live.has(queue)) {
        this.lastSeen.set(queue, this.options.now());
        continue;
      }
      this.lastSeen.delete(queue);
      expired.push(queue);
    }
    return expired;
  }
}
