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
    /** CPU of every process per task (µs): the mean of the two runs alone, and the run of `during`. */
    cpu_us_per_task_alone: number;
    cpu_us_per_task_during: number;
    /**
     * The CPU per task of `during` against the mean of the two alone, in percent: steadier than
     * tasks/s when the machine's speed drifts (the poller's own CPU, in the bench process, is
     * not counted; the server's is).
     */
    cpu_change_pct: number;
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
  const cpuAlone = (first.metrics.cpu_us_per_task_total! + last.metrics.cpu_us_per_task_total!) / 2;
  const cpuDuring = middle.result.metrics.cpu_us_per_task_total!;
  return {
    during: middle,
    tasksPerS,
    metrics: {
      tasks: context.options.tasks,
      tasks_per_s_alone_first: first.metrics.tasks_per_s!,
      tasks_per_s_alone_last: last.metrics.tasks_per_s!,
      change_pct: ((tasksPerS - alone) / alone) * 100,
      cpu_us_per_task_alone: cpuAlone,
      cpu_us_per_task_during: cpuDuring,
      cpu_change_pct: ((cpuDuring - cpuAlone) / cpuAlone) * 100,
    },
  };
}
