/**
 * A time as epoch milliseconds for a `float8[]` parameter (turned back into timestamptz with
 * `to_timestamp(x / 1000.0)` in SQL): the driver encodes numbers far faster than Dates.
 */
export function epochMs(date: Date | null | undefined): number | null {
  return date ? date.getTime() : null;
}
