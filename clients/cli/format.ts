import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { usageError } from "./errors.js";

const UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration: a number with a unit (`250ms`, `30s`, `5m`, `2h`, `7d`), several
 * joined (`1m30s`), or a bare number of seconds (`300`). Throws a usage error naming `field`.
 */
export function parseDurationMs(text: string, field: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (trimmed === "" || parts.map((p) => p[0]).join("") !== trimmed) {
    throw usageError(field, `"${text}" is not a duration (e.g. 300, 30s, 5m, 1h30m, 250ms)`);
  }
  return Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNITS_MS[unit!]!, 0));
}

/** Parses an RFC 3339 time (`2026-12-07T18:00:00Z`); throws a usage error naming `field`. */
export function parseTime(text: string, field: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text.trim()) ? new Date(text) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) throw usageError(field, `"${text}" is not an RFC 3339 time (e.g. 2026-12-07T18:00:00Z)`);
  return date;
}

/** Parses a non-negative integer within bounds; throws a usage error naming `field`. */
export function parseInteger(text: string, field: string, min: number, max: number): number {
  const value = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) throw usageError(field, `must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

/** Milliseconds of a protobuf Timestamp. */
export function msOfTimestamp(ts: Timestamp): number {
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

/** Milliseconds of a protobuf Duration. */
export function msOfDuration(d: Duration): number {
  return Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
}

/** A duration for people: `850ms`, `12s`, `5m`, `5m30s`, `2h`, `3d4h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${ms % 1000 === 0 || seconds >= 10 ? seconds : (ms / 1000).toFixed(1)}s`;
  const pairs: Array<[number, string]> = [
    [Math.floor(seconds / 86400), "d"],
    [Math.floor((seconds % 86400) / 3600), "h"],
    [Math.floor((seconds % 3600) / 60), "m"],
    [seconds % 60, "s"],
  ];
  const first = pairs.findIndex(([n]) => n > 0);
  return pairs
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join("");
}

/** A time relative to `now`: `3s ago`, `in 5m`, `-` when unset. */
export function formatRelative(ts: Timestamp | undefined, now = Date.now()): string {
  if (ts === undefined) return "-";
  const delta = msOfTimestamp(ts) - now;
  if (Math.abs(delta) < 1000) return "just now";
  return delta < 0 ? `${formatDuration(-delta)} ago` : `in ${formatDuration(delta)}`;
}

/** A time as RFC 3339 with its relative form: `2026-12-07T18:00:00.000Z (3s ago)`; `-` when unset. */
export function formatTime(ts: Timestamp | undefined, now = Date.now()): string {
  if (ts === undefined) return "-";
  return `${new Date(msOfTimestamp(ts)).toISOString()} (${formatRelative(ts, now)})`;
}

/** A protobuf Duration for people; `-` when unset. */
export function formatProtoDuration(d: Duration | undefined): string {
  return d === undefined ? "-" : formatDuration(msOfDuration(d));
}

/** The name of an enum value without its prefix: `QUEUED` for TASK_STATE_QUEUED's number. */
export function enumName(names: Readonly<Record<number, string>>, value: number): string {
  return names[value] ?? String(value);
}
