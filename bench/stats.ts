/** Summary statistics of measured samples. */

/** Distribution summary of a sample set (values in the samples' unit). */
export interface Summary {
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  p50: number;
  p90: number;
  p99: number;
}

/**
 * The `q`-quantile (0..1) of samples already sorted ascending, linearly interpolated
 * between the two closest ranks. NaN for no samples.
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const weight = position - lower;
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** Summarises samples (unsorted; not modified). All fields are NaN but `count` when empty. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = Float64Array.from(samples).sort();
  const values = Array.from(sorted);
  const count = values.length;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = count === 0 ? Number.NaN : sum / count;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return {
    count,
    min: count === 0 ? Number.NaN : values[0]!,
    max: count === 0 ? Number.NaN : values[count - 1]!,
    mean,
    stddev: count === 0 ? Number.NaN : Math.sqrt(squares / count),
    p50: quantileSorted(values, 0.5),
    p90: quantileSorted(values, 0.9),
    p99: quantileSorted(values, 0.99),
  };
}

/** Median of a few values (e.g. one metric over repeated runs); NaN for none. */
export function median(values: readonly number[]): number {
  return quantileSorted([...values].sort((a, b) => a - b), 0.5);
}

/**
 * Jain's fairness index of shares: 1 when all are equal, 1/n when one takes everything.
 * NaN for no shares or all zero.
 */
export function jainIndex(shares: readonly number[]): number {
  let sum = 0;
  let squares = 0;
  for (const s of shares) {
    sum += s;
    squares += s * s;
  }
  return squares === 0 ? Number.NaN : (sum * sum) / (shares.length * squares);
}

/** Rounds to `digits` decimals (for reports). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
