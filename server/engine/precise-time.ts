/**
 * The wall-clock time in epoch milliseconds with microsecond precision (`Date.now()` has
 * whole milliseconds): the creation time of tasks, which Postgres stores to the microsecond
 * and workers receive with their assignments.
 */
export function preciseNowMs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}
