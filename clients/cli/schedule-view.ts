import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { CatchupPolicy, FiringOutcome, OverlapPolicy, type Schedule, type ScheduleFiring } from "../../gen/taskqueue/v1/schedule_service_pb.js";
import { enumName, formatProtoDuration, formatRelative, formatTime } from "./format.js";
import type { Colors } from "./output.js";
import { policyText } from "./schedule-options.js";
import { dataText, stateText } from "./task-view.js";

/** A schedule's spec: `cron 0 9 * * MON-FRI (Europe/Paris)` or `every 30s`. */
export function specText(s: Schedule): string {
  if (s.spec.case === "cron") return `cron ${s.spec.value}${s.timeZone ? ` (${s.timeZone})` : ""}`;
  if (s.spec.case === "interval") return `every ${formatProtoDuration(s.spec.value)}`;
  return "-";
}

/** `paused` (yellow) or `active`. */
export function scheduleStateText(s: Schedule, colors: Colors): string {
  return s.paused ? colors.yellow("paused") : "active";
}

/** The columns of `schedule list`. */
export const SCHEDULE_HEADERS = ["ID", "SPEC", "QUEUE", "TYPE", "STATE", "NEXT FIRE"] as const;

/** One row of `schedule list`. */
export function scheduleRow(s: Schedule, colors: Colors, now = Date.now()): string[] {
  return [s.id, specText(s), s.task?.queue ?? "-", s.task?.type ?? "-", scheduleStateText(s, colors), formatRelative(s.nextFireTime, now)];
}

/** The labelled fields of a schedule (`get`, and what `create`, `update`, `pause`, `resume` print). */
export function scheduleFields(s: Schedule, colors: Colors, now = Date.now()): Array<[string, string]> {
  const t = s.task;
  const pairs: Array<[string, string]> = [
    ["ID", s.id],
    ["Spec", specText(s)],
    ["State", scheduleStateText(s, colors)],
    ["Next fire", formatTime(s.nextFireTime, now)],
    ["Queue", t?.queue ?? "-"],
    ["Type", t?.type ?? "-"],
  ];
  if (t) {
    pairs.push(["Payload", dataText(t.payloadData)]);
    if (t.priority !== undefined) pairs.push(["Priority", String(t.priority)]);
    if (t.timeout) pairs.push(["Timeout", formatProtoDuration(t.timeout)]);
    if (t.retryPolicy?.maxAttempts) pairs.push(["Max retries", String(t.retryPolicy.maxAttempts - 1)]);
    const labels = Object.entries(t.labels);
    if (labels.length > 0) pairs.push(["Labels", labels.map(([k, v]) => `${k}=${v}`).join(", ")]);
  }
  pairs.push(["Overlap", policyText(enumName(OverlapPolicy, s.overlapPolicy))], ["Catch-up", policyText(enumName(CatchupPolicy, s.catchupPolicy))]);
  if (s.startTime) pairs.push(["Start", formatTime(s.startTime, now)]);
  if (s.endTime) pairs.push(["End", formatTime(s.endTime, now)]);
  pairs.push(["Created", formatTime(s.createTime, now)], ["Updated", formatTime(s.updateTime, now)]);
  return pairs;
}

/** The columns of the firings table of `schedule get`. */
export const FIRING_HEADERS = ["TICK", "FIRED", "OUTCOME", "TASK", "TASK STATE", "DETAIL"] as const;

/** One row of the firings table. */
export function firingRow(f: ScheduleFiring, colors: Colors, now = Date.now()): string[] {
  return [
    isoText(f.tickTime),
    formatRelative(f.fireTime, now),
    outcomeText(f.outcome, colors),
    f.taskId || "-",
    f.taskId ? stateText(f.taskState, colors) : "-",
    firingDetail(f),
  ];
}

function firingDetail(f: ScheduleFiring): string {
  if (f.outcome === FiringOutcome.MISSED) return `${f.missedTicks} tick${f.missedTicks === 1n ? "" : "s"} missed`;
  return f.detail || "-";
}

function outcomeText(outcome: FiringOutcome, colors: Colors): string {
  const name = enumName(FiringOutcome, outcome);
  if (outcome === FiringOutcome.FAILED) return colors.red(name);
  if (outcome === FiringOutcome.MISSED || outcome === FiringOutcome.SKIPPED_OVERLAP) return colors.yellow(name);
  return name;
}

/** A time as RFC 3339 (`-` when unset). */
export function isoText(ts: Timestamp | undefined): string {
  return ts === undefined ? "-" : formatTime(ts).replace(/ \(.*\)$/, "");
}
