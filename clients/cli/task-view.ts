import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { AttemptOutcome, type Task, type TaskAttempt, TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import { enumName, formatDuration, formatProtoDuration, formatRelative, formatTime, msOfTimestamp } from "./format.js";
import type { Colors } from "./output.js";

/** States a task never leaves. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([TaskState.SUCCEEDED, TaskState.DEAD, TaskState.CANCELLED, TaskState.EXPIRED]);

/** A task state's name, coloured: green SUCCEEDED, red DEAD/EXPIRED, yellow CANCELLED/FAILED, cyan RUNNING. */
export function stateText(state: TaskState, colors: Colors): string {
  const name = enumName(TaskState, state);
  switch (state) {
    case TaskState.SUCCEEDED:
      return colors.green(name);
    case TaskState.DEAD:
    case TaskState.EXPIRED:
      return colors.red(name);
    case TaskState.CANCELLED:
    case TaskState.FAILED:
      return colors.yellow(name);
    case TaskState.RUNNING:
      return colors.cyan(name);
    default:
      return name;
  }
}

/** The payload or result of a task as one line: compact JSON, `<N bytes>`, or `-`. */
export function dataText(data: Task["payloadData"] | Task["resultData"]): string {
  switch (data.case) {
    case "payload":
    case "result":
      return JSON.stringify(toJson(ValueSchema, data.value));
    case "payloadBytes":
    case "resultBytes":
      return `<${data.value.length} bytes>`;
    default:
      return "-";
  }
}

/** The columns of `task list` and `dlq list`. */
export const TASK_HEADERS = ["ID", "QUEUE", "TYPE", "STATE", "PRIORITY", "ATTEMPT", "CREATED"] as const;

/** One row of a task table. */
export function taskRow(task: Task, colors: Colors, now = Date.now()): string[] {
  return [
    task.id,
    task.queue,
    task.type,
    stateText(task.state, colors),
    String(task.priority),
    `${task.attempt}/${task.maxAttempts}`,
    formatRelative(task.createdAt, now),
  ];
}

/** The labelled fields of `task get`. */
export function taskFields(task: Task, colors: Colors, now = Date.now()): Array<[string, string]> {
  const pairs: Array<[string, string]> = [
    ["ID", task.id],
    ["Queue", task.queue],
    ["Type", task.type],
    ["State", stateText(task.state, colors)],
    ["Priority", String(task.priority)],
    ["Attempt", `${task.attempt} of ${task.maxAttempts}`],
    ["Created", formatTime(task.createdAt, now)],
  ];
  if (task.scheduledAt) pairs.push(["Scheduled", formatTime(task.scheduledAt, now)]);
  if (task.startedAt) pairs.push(["Started", formatTime(task.startedAt, now)]);
  if (task.finishedAt) pairs.push(["Finished", formatTime(task.finishedAt, now)]);
  if (task.startedAt && task.finishedAt) pairs.push(["Ran for", formatDuration(msOfTimestamp(task.finishedAt) - msOfTimestamp(task.startedAt))]);
  if (task.timeout) pairs.push(["Timeout", formatProtoDuration(task.timeout)]);
  if (task.startDeadline) pairs.push(["Start by", formatTime(task.startDeadline, now)]);
  if (task.workerId) pairs.push(["Worker", task.workerId]);
  if (task.progress && task.state === TaskState.RUNNING) pairs.push(["Progress", progressText(task)]);
  if (task.idempotencyKey) pairs.push(["Idempotency key", task.idempotencyKey]);
  if (task.concurrencyKey) pairs.push(["Concurrency key", task.concurrencyKey]);
  const labels = Object.entries(task.labels);
  if (labels.length > 0) pairs.push(["Labels", labels.map(([k, v]) => `${k}=${v}`).join(", ")]);
  pairs.push(["Payload", dataText(task.payloadData)]);
  if (task.resultData.case !== undefined) pairs.push(["Result", dataText(task.resultData)]);
  if (task.lastError) pairs.push(["Last error", errorText(task.lastError)]);
  if (task.cancelReason) pairs.push(["Cancel reason", task.cancelReason]);
  return pairs;
}

/** A task's progress: `40% resized 4 of 10`. */
export function progressText(task: Task): string {
  const progress = task.progress;
  if (!progress) return "-";
  return `${Math.round(progress.percent)}%${progress.message ? ` ${progress.message}` : ""}`;
}

/** An attempt's error: `PlannedFailure: failing attempt 1 (attempt 1, non-retryable)`. */
export function errorText(error: NonNullable<Task["lastError"]>): string {
  const type = error.type ? `${error.type}: ` : "";
  return `${type}${error.message} (attempt ${error.attempt}${error.nonRetryable ? ", non-retryable" : ""})`;
}

/** The columns of the attempts table of `task get --attempts`. */
export const ATTEMPT_HEADERS = ["ATTEMPT", "WORKER", "STARTED", "RAN FOR", "OUTCOME", "ERROR"] as const;

/** One row of the attempts table. */
export function attemptRow(attempt: TaskAttempt, now = Date.now()): string[] {
  const ranFor = attempt.startedAt && attempt.finishedAt ? formatDuration(msOfTimestamp(attempt.finishedAt) - msOfTimestamp(attempt.startedAt)) : "-";
  const outcome = attempt.outcome === AttemptOutcome.UNSPECIFIED ? "RUNNING" : enumName(AttemptOutcome, attempt.outcome);
  return [String(attempt.attempt), attempt.workerId || "-", formatRelative(attempt.startedAt, now), ranFor, outcome, attempt.error?.message || "-"];
}
