/** The most spans `[start, end]` open at one instant (an end and a start at the same time do not overlap). */
export function maxOverlap(spans: ReadonlyArray<readonly [number, number]>): number {
  const events = spans.flatMap(([s, e]) => [[s, 1] as const, [e, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of events) {
    open += d;
    most = Math.max(most, open);
  }
  return most;
}
