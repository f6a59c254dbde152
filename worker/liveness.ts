import type { Clock, TimerHandle } from "./clock.js";

/** Options of {@link Liveness}. */
export interface LivenessOptions {
  /** Clock and timers. */
  clock: Clock;
  /** Heartbeat interval in ms. */
  intervalMs: number;
  /** Silent intervals after which the server counts as deaf. Default 3. */
  silentIntervals?: number;
  /** Sends one heartbeat. */
  beat(): void;
  /** The server said nothing for `silentIntervals` intervals. Called at most once. */
  deaf(silentMs: number): void;
}

/**
 * Heartbeats and the deaf-server watchdog of one session: beats every interval, and calls
 * `deaf` when no message at all arrived from the server for `silentIntervals` intervals.
 * Call {@link Liveness.touch} on every server message; it only stores a timestamp, the
 * watchdog timer re-arms itself lazily.
 */
export class Liveness {
  private beatTimer: TimerHandle | undefined;
  private watchTimer: TimerHandle | undefined;
  private lastHeardAt: number;
  private running = false;
  private beating = false;

  /** Creates the liveness tracker; nothing runs before {@link Liveness.start}. */
  constructor(private readonly options: LivenessOptions) {
    this.lastHeardAt = options.clock.now();
  }

  /** Milliseconds of silence that count as a deaf server. */
  get silenceLimitMs(): number {
    return this.options.intervalMs * (this.options.silentIntervals ?? 3);
  }

  /** Records that the server just said something. */
  touch(): void {
    this.lastHeardAt = this.options.clock.now();
  }

  /** Starts heartbeating and watching. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.beating = true;
    this.touch();
    this.scheduleBeat();
    this.scheduleWatch(this.silenceLimitMs);
  }

  /** Stops sending heartbeats; the watchdog keeps running. */
  stopBeating(): void {
    this.beating = false;
    if (this.beatTimer !== undefined) this.options.clock.clearTimeout(this.beatTimer);
    this.beatTimer = undefined;
  }

  /** Stops everything. */
  stop(): void {
    this.running = false;
    this.stopBeating();
    if (this.watchTimer !== undefined) this.options.clock.clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
  }

  private scheduleBeat(): void {
    this.beatTimer = this.options.clock.setTimeout(() => {
      this.beatTimer = undefined;
      if (!this.running || !this.beating) return;
      this.options.beat();
      this.scheduleBeat();
    }, this.options.intervalMs);
  }

  private scheduleWatch(delayMs: number): void {
    this.watchTimer = this.options.clock.setTimeout(() => {
      this.watchTimer = undefined;
      if (!this.running) return;
      const silentMs = this.options.clock.now() - this.lastHeardAt;
      const remaining = this.silenceLimitMs - silentMs;
      if (remaining > 0) {
        this.scheduleWatch(remaining);
        return;
      }
      this.stop();
      this.options.deaf(silentMs);
    }, delayMs);
  }
}
