/** Options for {@link Poller}. */
export interface PollerOptions {
  /** Reads and shows the data; a rejection counts as a failed poll. */
  run: () => Promise<void>;
  /** Pause between the end of one poll and the start of the next, ms. */
  intervalMs: number;
  /** Told after each poll: undefined when it succeeded, else the error. */
  onOutcome: (error: unknown) => void;
}

/**
 * Polls while the tab is visible: one run at a time (never overlapping), the next one
 * `intervalMs` after the last ended, none while `document.hidden` (a hidden tab costs the
 * server nothing), and one at once when the tab shows again.
 */
export class Poller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private again = false;
  private stopped = false;
  private readonly onVisibility = (): void => {
    if (!document.hidden) this.now();
    else this.clear();
  };

  constructor(private readonly options: PollerOptions) {}

  /** Starts polling, with a first run now. */
  start(): void {
    document.addEventListener("visibilitychange", this.onVisibility);
    this.now();
  }

  /** Stops polling; a run in progress finishes but schedules nothing. */
  stop(): void {
    this.stopped = true;
    this.clear();
    document.removeEventListener("visibilitychange", this.onVisibility);
  }

  /** Runs a poll now (or right after the one in progress). */
  now(): void {
    if (this.stopped) return;
    this.clear();
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.options.run().then(
      () => this.finish(undefined),
      (error: unknown) => this.finish(error ?? new Error("poll failed")),
    );
  }

  private finish(error: unknown): void {
    this.running = false;
    if (this.stopped) return;
    this.options.onOutcome(error);
    if (this.again) {
      this.again = false;
      this.now();
    } else if (!document.hidden) {
      this.timer = setTimeout(() => this.now(), this.options.intervalMs);
    }
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
