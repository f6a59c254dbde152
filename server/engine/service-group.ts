import type { Logger } from "../observability/logger.js";
import type { Service } from "./service.js";
import { ShutdownBudget, type ShutdownReport } from "./shutdown-budget.js";

/**
 * Which deadline of the {@link ShutdownBudget} a step's stop must meet; `"own"`: the step
 * keeps to the budget's deadlines by itself (or does not wait), and is awaited as it is.
 */
export type StopDeadline = "drain" | "write" | "exit" | "own";

/** One member of a {@link ServiceGroup}: a service, or a step of the shutdown that starts nothing. */
export interface GroupEntry {
  /** Names the stop in logs and, when it is cut short, in the {@link ShutdownReport}. */
  readonly step: string;
  /** The deadline its stop must meet. */
  readonly deadline: StopDeadline;
  /** Starts it (nothing for a step that only stops). */
  start?(): void | Promise<void>;
  /** Stops it; `budget` gives the deadlines of the shutdown under way. */
  stop(budget: ShutdownBudget): unknown;
}

/** A {@link GroupEntry} for a {@link Service}. */
export function serviceEntry(step: string, deadline: StopDeadline, service: Service): GroupEntry {
  return { step, deadline, start: () => service.start(), stop: () => service.stop() };
}

/** A {@link GroupEntry} that only stops: a step of the shutdown (drain, wait, close). */
export function stopStep(step: string, deadline: StopDeadline, stop: (budget: ShutdownBudget) => unknown): GroupEntry {
  return { step, deadline, stop };
}

/** Options for {@link ServiceGroup}. */
export interface ServiceGroupOptions {
  /** In start order; the group stops them in reverse. */
  entries: readonly GroupEntry[];
  /** How long workers get to finish what they hold (`DRAIN_TIMEOUT_MS`). */
  drainTimeoutMs: number;
  /** Where stops cut short or failed are logged. */
  logger: Logger;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * The server's long-lived components and shutdown steps as one ordered list: started in
 * order, stopped in reverse, each stop within its deadline of one {@link ShutdownBudget}. A
 * stop that overruns its deadline is logged, recorded as cut short and abandoned; the next
 * one goes on. A start that fails stops what had started (in reverse) and throws.
 */
export class ServiceGroup {
  private started = 0;
  private stopping: Promise<ShutdownReport> | undefined;

  constructor(private readonly options: ServiceGroupOptions) {}

  /** Starts every entry in order. */
  async start(): Promise<void> {
    const { entries } = this.options;
    try {
      for (; this.started < entries.length; this.started++) await entries[this.started]!.start?.();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * Stops the entries started, in reverse order, each within its deadline; resolves with
   * what was cut short. Called again, returns the same shutdown.
   */
  stop(): Promise<ShutdownReport> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<ShutdownReport> {
    const budget = new ShutdownBudget({ drainTimeoutMs: this.options.drainTimeoutMs, logger: this.options.logger, now: this.options.now });
    const started = this.options.entries.slice(0, this.started);
    for (const entry of started.reverse()) {
      const stopped = (async () => entry.stop(budget))();
      if (entry.deadline === "own") {
        await stopped.catch((error: unknown) => this.options.logger.warn({ err: error, step: entry.step }, "shutdown step failed"));
        continue;
      }
      const deadline = { drain: budget.drainDeadline, write: budget.writeDeadline, exit: budget.exitDeadline }[entry.deadline];
      await budget.within(entry.step, deadline, stopped);
    }
    return budget.report();
  }
}
