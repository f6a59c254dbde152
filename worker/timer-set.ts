import type { Clock, TimerHandle } from "./clock.js";

/** One-shot timers owned by one object, all cancelled together when it goes away. */
export class TimerSet {
  private readonly handles = new Set<TimerHandle>();

  /** Creates an empty set on `clock`. */
  constructor(private readonly clock: Clock) {}

  /** Runs `fn` once after `ms` unless the set is cleared first. */
  after(ms: number, fn: () => void): void {
    const handle = this.clock.setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, Math.max(0, ms));
    this.handles.add(handle);
  }

  /** Cancels every pending timer. */
  clear(): void {
    for (const handle of this.handles) this.clock.clearTimeout(handle);
    this.handles.clear();
  }
}
