import type { ScenarioContext, ScenarioResult } from "./context.js";
import { throughputBatch } from "./throughput.js";

/** The figures of a throughput_batch run bracketed by two runs alone. */
export interface Bracketed<T> {
  /** What `during` returned. */
  during: T;
  metrics: {
    tasks: number;
    tasks_per_s_alone_first: number;
    tasks_per_s_alone_last: number;
    /** The run of `during` against the mean of the two alone, in percent. */
    change_pct: number;
  };
  /** The rate of the run of `during`, tasks/s. */
  tasksPerS: number;
}

/**
 * Runs throughput_batch alone, then `during` (a throughput_batch run with something else going
 * on, e.g. a poller or a browser), then alone again, and compares the middle run with the mean
 * of the two alone (which bracket it in time, so warm-up and drift fall on both sides).
 */
export async function bracketedThroughput<T extends { result: ScenarioResult }>(
  context: ScenarioContext,
  during: () => Promise<T>,
): Promise<Bracketed<T>> {
  const first = await throughputBatch(context);
  const middle = await during();
  const last = await throughputBatch(context);
  const alone = (first.metrics.tasks_per_s! + last.metrics.tasks_per_s!) / 2;
  const tasksPerS = middle.result.metrics.tasks_per_s!;
  return {
    during: middle,
    tasksPerS,
    metrics: {
      tasks: context.options.tasks,
      tasks_per_s_alone_first: first.metrics.tasks_per_s!,
      tasks_per_s_alone_last: last.metrics.tasks_per_s!,
      change_pct: ((tasksPerS - alone) / alone) * 100,
    },
  };
}
