import type { Logger } from "../observability/logger.js";
import type { Service } from "./service.js";

/** Options for {@link PeriodicTask}. */
export interface PeriodicTaskOptions<T> {
  /** Names the task in logs. */
  name: string;
  /** The work of one run. A rejection is logged (runs the timer starts) and the next run goes on. */
  run: () => Promise<T>;
  /** Time from the end of one run to the next timed one, ms. */
  intervalMs: number;
  /** Where failed timed runs are logged. */
  logger: Logger;
  /** Whether {@link PeriodicTask.start} runs at once (default: first run one interval later). */
  runAtStart?: boolean;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Periodic work on an unref'd timer, never re-entered: `run` is called every `intervalMs`
 * (counted from the end of the previous run), and sooner when asked ({@link request},
 * {@link runNow}). A run asked for while one is under way happens right after it (once, however
 * often it was asked). {@link stop} cancels the timer and waits for the run under way.
 */
export class PeriodicTask<T = void> implements Service {
  private timer: NodeJS.Timeout | undefined;
  /** Next timed run, epoch ms (infinite: not started, or a run is under way). */
  private nextTickAt = Number.POSITIVE_INFINITY;
  /** Runs asked for at these times, epoch ms, sorted (the earliest and the latest are kept). */
  private requested: number[] = [];
  /** Settles when the run under way is over. */
  private current: Promise<void> | undefined;
  private again = false;
  private started = false;
  private halted = false;
  private readonly now: () => number;

  constructor(private readonly options: PeriodicTaskOptions<T>) {
    this.now = options.now ?? Date.now;
  }

  /** True once {@link stop} was called: a run under way should end early where it can. */
  get stopped(): boolean {
    return this.halted;
  }

  /** True while a run is under way. */
  get running(): boolean {
    return this.current !== undefined;
  }

  /** Arms the timer (and runs at once with `runAtStart`). */
  start(): void {
    if (this.started || this.halted) return;
    this.started = true;
    if (this.options.runAtStart) {
      void this.runNow().catch((error: unknown) => this.logFailure(error));
      return;
    }
    this.nextTickAt = this.now() + this.options.intervalMs;
    this.arm();
  }

  /** Cancels the timer and waits for the run under way, if any; no run starts after. */
  async stop(): Promise<void> {
    this.halted = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /**
   * Asks for a run in `delayMs` (default: as soon as possible); when a run is under way and
   * the time has come, the run after it answers. Cheap: requests are coalesced.
   */
  request(delayMs = 0): void {
    if (this.halted) return;
    if (delayMs <= 0 && this.current) {
      this.again = true;
      return;
    }
    const at = this.now() + Math.max(0, delayMs);
    const requested = [...this.requested, at].sort((a, b) => a - b);
    this.requested = requested.length > 2 ? [requested[0]!, requested[requested.length - 1]!] : requested;
    this.arm();
  }

  /**
   * Runs now and resolves with the run's result (a rejection is passed on). When a run is
   * under way it resolves `undefined` at once, and the run after it answers this call; after
   * {@link stop} it resolves `undefined` and runs nothing.
   */
  runNow(): Promise<T | undefined> {
    if (this.halted) return Promise.resolve(undefined);
    if (this.current) {
      this.again = true;
      return Promise.resolve(undefined);
    }
    return this.runOnce();
  }

  private runOnce(): Promise<T> {
    const startedAt = this.now();
    this.requested = this.requested.filter((at) => at > startedAt);
    this.nextTickAt = Number.POSITIVE_INFINITY;
    let finished!: () => void;
    this.current = new Promise<void>((resolve) => (finished = resolve));
    // The run is over (a runNow() right after it runs again) before its caller hears of it.
    return (async () => {
      try {
        return await this.options.run();
      } finally {
        this.afterRun();
        finished();
      }
    })();
  }

  private afterRun(): void {
    this.current = undefined;
    if (this.halted) return;
    const now = this.now();
    if (this.again) {
      this.again = false;
      this.requested = [now, ...this.requested].sort((a, b) => a - b);
    }
    if (this.started) this.nextTickAt = now + this.options.intervalMs;
    this.arm();
  }

  /** (Re-)arms the timer for the earliest run due. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.halted) return;
    const at = Math.min(this.nextTickAt, this.requested[0] ?? Number.POSITIVE_INFINITY);
    if (at === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    if (this.halted) return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.runOnce().catch((error: unknown) => this.logFailure(error));
  }

  private logFailure(error: unknown): void {
    this.options.logger.warn({ err: error, task: this.options.name }, "periodic task failed; will run again");
  }
}
