import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { fieldNumbers } from "./field-numbers.js";
import type { ProtoWriter } from "./proto-writer.js";

/**
 * The two fields of a `google.protobuf.Timestamp` or `Duration`, as the client's message
 * builder and every hand-written encoder compute them from milliseconds.
 */
export interface SecondsAndNanos {
  /** Whole seconds (int64). */
  seconds: number;
  /** Nanoseconds, 0-999,999,999 (a duration's carry the sign of its seconds). */
  nanos: number;
}

const NANOS_PER_MS = 1_000_000;
const NANOS_PER_SECOND = 1_000_000_000;

/** Milliseconds since the epoch as a `Timestamp`: seconds rounded down, nanos never negative. */
export function timestampParts(ms: number): SecondsAndNanos {
  let seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * NANOS_PER_MS);
  if (nanos >= NANOS_PER_SECOND) {
    seconds += 1;
    nanos -= NANOS_PER_SECOND;
  }
  return { seconds, nanos };
}

/** Milliseconds as a `Duration`: seconds and nanos share the sign of `ms`. */
export function durationParts(ms: number): SecondsAndNanos {
  const magnitude = Math.abs(ms);
  let seconds = Math.floor(magnitude / 1000);
  let nanos = Math.round((magnitude - seconds * 1000) * NANOS_PER_MS);
  if (nanos >= NANOS_PER_SECOND) {
    seconds += 1;
    nanos -= NANOS_PER_SECOND;
  }
  // `+ 0` turns -0 into 0, which protobuf treats as unset like any zero.
  return ms < 0 ? { seconds: -seconds + 0, nanos: -nanos + 0 } : { seconds, nanos };
}

const TIMESTAMP = fieldNumbers(TimestampSchema);
const DURATION = fieldNumbers(DurationSchema);

/**
 * Writes epoch milliseconds as a `google.protobuf.Timestamp` message field `field`
 * ({@link timestampParts}: nanos in [0, 1e9)); zero seconds or nanos are left out as
 * protobuf-es leaves them out.
 */
export function writeTimestamp(w: ProtoWriter, field: number, epochMs: number): void {
  const { seconds, nanos } = timestampParts(epochMs);
  const mark = w.fork(field);
  w.int64IfSet(TIMESTAMP.seconds, seconds).int32IfSet(TIMESTAMP.nanos, nanos);
  w.join(mark);
}

/**
 * Writes milliseconds as a `google.protobuf.Duration` message field `field`
 * ({@link durationParts}: nanos share the sign of seconds); zero seconds or nanos are left out
 * as protobuf-es leaves them out.
 */
export function writeDuration(w: ProtoWriter, field: number, ms: number): void {
  const { seconds, nanos } = durationParts(ms);
  const mark = w.fork(field);
  w.int64IfSet(DURATION.seconds, seconds).int32IfSet(DURATION.nanos, nanos);
  w.join(mark);
}
