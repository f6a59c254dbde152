import { create } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema, type Duration, type Timestamp, timestampFromDate, timestampDate } from "@bufbuild/protobuf/wkt";
import { isStorableTimeMs } from "../db/storable-time.js";
import { InvalidArgumentError } from "../errors.js";

/** A Duration from milliseconds. */
export function durationFromMs(ms: number): Duration {
  return create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
}

/** Milliseconds of a Duration (rounded down). */
export function msOfDuration(d: Duration): number {
  return Number(d.seconds) * 1000 + Math.floor(d.nanos / 1_000_000);
}

/**
 * Milliseconds of a Duration from a request, once it is a valid one: `nanos` within ±999,999,999
 * and of the sign of `seconds` (as google.protobuf.Duration requires). Throws
 * InvalidArgumentError naming `field` otherwise; the caller checks the range it allows.
 */
export function checkedMsOfDuration(d: Duration, field: string): number {
  if (!Number.isInteger(d.nanos) || Math.abs(d.nanos) >= 1_000_000_000) {
    throw new InvalidArgumentError(field, `nanos must be between -999999999 and 999999999, got ${d.nanos}`);
  }
  if ((d.seconds > 0n && d.nanos < 0) || (d.seconds < 0n && d.nanos > 0)) {
    throw new InvalidArgumentError(field, "seconds and nanos must have the same sign");
  }
  return msOfDuration(d);
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

/**
 * A Date from a Timestamp of a request, once it is a valid one: `nanos` between 0 and
 * 999,999,999 and the time between 0001-01-01 and 9999-12-31 (UTC), the range the server
 * stores. Throws InvalidArgumentError naming `field` otherwise.
 */
export function checkedDateOf(ts: Timestamp, field: string): Date {
  if (!Number.isInteger(ts.nanos) || ts.nanos < 0 || ts.nanos >= 1_000_000_000) {
    throw new InvalidArgumentError(field, `nanos must be between 0 and 999999999, got ${ts.nanos}`);
  }
  const date = timestampDate(ts);
  if (!isStorableTimeMs(date.getTime())) {
    throw new InvalidArgumentError(field, "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z");
  }
  return date;
}
