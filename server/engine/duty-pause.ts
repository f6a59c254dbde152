/**
 * Waits so that the work begun at `startedAt` (a `performance.now()` reading) took `duty`
 * (0–1) of the time: background sweeps pause between pages with it, leaving the rest of the
 * time to the hot path. The timer does not keep the process alive.
 */
export function pauseForDuty(startedAt: number, duty: number): Promise<void> {
  const workedMs = performance.now() - startedAt;
  return new Promise((resolve) => setTimeout(resolve, (workedMs * (1 - duty)) / duty).unref());
}
