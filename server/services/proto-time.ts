import { create } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema, type Duration, type Timestamp, timestampFromDate, timestampDate } from "@bufbuild/protobuf/wkt";

/** A Duration from milliseconds. */
export function durationFromMs(ms: number): Duration {
  return create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
}

/** Milliseconds of a Duration (rounded down). */
export function msOfDuration(d: Duration): number {
  return Number(d.seconds) * 1000 + Math.floor(d.nanos / 1_000_000);
}

/** A Timestamp from a Date, or undefined. */
export function timestampOf(date: Date | null | undefined): Timestamp | undefined {
  return date ? timestampFromDate(date) : undefined;
}

/** A Timestamp from epoch milliseconds that may have a fraction (kept to the nanosecond). */
export function timestampFromEpochMs(epochMs: number): Timestamp {
  const seconds = Math.floor(epochMs / 1000);
  return create(TimestampSchema, { seconds: BigInt(seconds), nanos: Math.round((epochMs - seconds * 1000) * 1_000_000) });
}

/** A Date from a Timestamp. */
export function dateOf(ts: Timestamp): Date {
  return timestampDate(ts);
}
