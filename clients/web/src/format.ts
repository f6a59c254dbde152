import { toJson } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { type Duration, type Timestamp, timestampMs, type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { AttemptOutcome, TaskState } from "../../../gen/taskqueue/v1/task_pb.js";

/** Every task state a filter can pick, in lifecycle order. */
export const TASK_STATES: readonly TaskState[] = [
  TaskState.SCHEDULED,
  TaskState.QUEUED,
  TaskState.RUNNING,
  TaskState.SUCCEEDED,
  TaskState.FAILED,
  TaskState.DEAD,
  TaskState.CANCELLED,
  TaskState.EXPIRED,
];

/** States a task never leaves. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([TaskState.SUCCEEDED, TaskState.DEAD, TaskState.CANCELLED, TaskState.EXPIRED]);

/** The name of a task state: "QUEUED". */
export function stateName(state: TaskState): string {
  return TaskState[state] ?? String(state);
}

/** The name of an attempt outcome: "LEASE_EXPIRED"; "RUNNING" for an attempt not ended. */
export function outcomeName(outcome: AttemptOutcome): string {
  return outcome === AttemptOutcome.UNSPECIFIED ? "RUNNING" : (AttemptOutcome[outcome] ?? String(outcome));
}

/** Milliseconds of a Duration. */
export function durationMs(duration: Duration | undefined): number {
  return duration ? Number(duration.seconds) * 1000 + Math.round(duration.nanos / 1e6) : 0;
}

/** A span of time for people: "850 ms", "12 s", "3 min 5 s", "2 h 4 min", "3 d 2 h". */
export function formatSpan(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  if (hours < 24) return m % 60 === 0 ? `${hours} h` : `${hours} h ${m % 60} min`;
  const d = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${d} d` : `${d} d ${hours % 24} h`;
}

/** A Duration for people; "—" when unset. */
export function formatDuration(duration: Duration | undefined): string {
  return duration ? formatSpan(durationMs(duration)) : "—";
}

/** A Timestamp as local date and time; "—" when unset. */
export function formatTime(time: Timestamp | undefined): string {
  if (!time) return "—";
  const date = new Date(timestampMs(time));
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** How long ago a Timestamp was: "12 s ago"; "—" when unset. */
export function formatAgo(time: Timestamp | undefined, now = Date.now()): string {
  return time ? `${formatSpan(Math.max(0, now - timestampMs(time)))} ago` : "—";
}

/** A byte count for people: "512 B", "1.5 KiB", "2.0 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A count (int64 as bigint, or number) with thousands separators. */
export function formatCount(n: bigint | number | undefined): string {
  return (n ?? 0).toLocaleString();
}

/** A per-minute rate from a count over `minutes`: "12/min", "0.4/min". */
export function formatRate(count: bigint | undefined, minutes: number): string {
  const rate = Number(count ?? 0n) / minutes;
  return `${rate >= 10 || Number.isInteger(rate) ? Math.round(rate) : rate.toFixed(1)}/min`;
}

/** A payload or result as shown: pretty JSON, or base64 with the size for bytes. */
export type DataView = { kind: "json"; text: string } | { kind: "bytes"; text: string; size: number } | { kind: "none" };

/** The view of a payload or result: a JSON `Value`, bytes, or nothing. */
export function dataView(value: Value | Uint8Array | undefined): DataView {
  if (value === undefined) return { kind: "none" };
  if (value instanceof Uint8Array) return { kind: "bytes", text: base64Encode(value), size: value.byteLength };
  return { kind: "json", text: JSON.stringify(toJson(ValueSchema, value), null, 2) };
}
