/** How a run's Redis CPU split over the masters of a cluster. */
export interface MasterSplit {
  /** Each master's share of the masters' CPU, percent. */
  sharePct: number[];
  /** Each master's CPU µs per task of its own queues. */
  usPerOwnTask: number[];
  /** Largest share ÷ smallest: 1 is an even split. */
  shareMaxMin: number;
  /** Largest µs per own task ÷ smallest: 1 when every master costs the same per task it holds. */
  usPerOwnTaskMaxMin: number;
}

/**
 * The split of Redis CPU over masters, from each master's CPU µs per task (over every task of
 * the run, `total`) and the tasks of the queues it holds.
 */
export function masterSplit(usPerTask: readonly number[], ownTasks: readonly number[], total: number): MasterSplit {
  const sum = usPerTask.reduce((a, b) => a + b, 0);
  const sharePct = usPerTask.map((us) => (sum > 0 ? (100 * us) / sum : Number.NaN));
  const usPerOwnTask = usPerTask.map((us, i) => (ownTasks[i]! > 0 ? (us * total) / ownTasks[i]! : Number.NaN));
  return { sharePct, usPerOwnTask, shareMaxMin: maxOverMin(sharePct), usPerOwnTaskMaxMin: maxOverMin(usPerOwnTask) };
}

function maxOverMin(values: readonly number[]): number {
  const min = Math.min(...values);
  return min > 0 ? Math.max(...values) / min : Number.NaN;
}
