import type { Clock, TimerHandle } from "./clock.js";

/** Options of {@link ProgressThrottle}. */
export interface ProgressThrottleOptions {
  /** Minimum interval between two reports, in ms. */
  intervalMs: number;
  /** Clock and timers. */
  clock: Clock;
  /** Delivers one report. */
  send(percent: number, message: string): void;
}

/**
 * Rate-limits the progress reports of one task: the first report goes out at once, later
 * ones at most once per interval, and the latest value always ends up delivered (trailing
 * edge) unless the throttle is closed first.
 */
export class ProgressThrottle {
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private pending: { percent: number; message: string } | undefined;
  private timer: TimerHandle | undefined;
  private closed = false;

  /** Creates a throttle delivering through `options.send`. */
  constructor(private readonly options: ProgressThrottleOptions) {}

  /** Records a report; `percent` is clamped to 0-100 and NaN is ignored. */
  report(percent: number, message = ""): void {
    if (this.closed || Number.isNaN(percent)) return;
    const value = { percent: Math.min(100, Math.max(0, percent)), message: String(message) };
    const now = this.options.clock.now();
    if (this.timer === undefined && now - this.lastSentAt >= this.options.intervalMs) {
      this.deliver(value, now);
      return;
    }
    this.pending = value;
    if (this.timer === undefined) {
      const wait = Math.max(0, this.lastSentAt + this.options.intervalMs - now);
      this.timer = this.options.clock.setTimeout(() => this.flush(), wait);
    }
  }

  /** Drops any pending report and ignores later ones. */
  close(): void {
    this.closed = true;
    this.pending = undefined;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const value = this.pending;
    this.pending = undefined;
    if (value && !this.closed) this.deliver(value, this.options.clock.now());
  }

  private deliver(value: { percent: number; message: string }, now: number): void {
    this.lastSentAt = now;
    this.options.send(value.percent, value.message);
  }
}
