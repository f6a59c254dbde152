import { Option, type Command } from "commander";
import type { CatchupPolicyName, OverlapPolicyName, ScheduleChanges, ScheduleSpec } from "../ts/schedule-spec.js";
import type { TaskSpec } from "../ts/task-spec.js";
import { usageError } from "./errors.js";
import { parseDurationMs, parseTime } from "./format.js";
import { collect, maxAttemptsOfRetries, parseLabels, parsePayload, parsePriority, PRIORITY_HELP } from "./task-options.js";

/** The options of `tq schedule create` and `update`, as commander parses them. */
export interface ScheduleOptions {
  cron?: string;
  tz?: string;
  every?: string;
  queue?: string;
  type?: string;
  priority?: string;
  timeout?: string;
  maxRetries?: string;
  label?: string[];
  overlap?: string;
  catchUp?: string;
  start?: string;
  end?: string;
  paused?: boolean;
}

const OVERLAP: Readonly<Record<string, OverlapPolicyName>> = { allow: "ALLOW", skip: "SKIP", "buffer-one": "BUFFER_ONE" };
const CATCH_UP: Readonly<Record<string, CatchupPolicyName>> = { skip: "SKIP", latest: "LATEST", all: "ALL" };

/** Adds the spec, template and policy options shared by `create` and `update`. */
export function addScheduleOptions(command: Command, update: boolean): Command {
  const keep = update ? " (unchanged when left out)" : "";
  return command
    .option("--cron <EXPR>", `cron expression: 5 fields, or 6 with seconds first, e.g. '*/5 * * * *'${keep}`)
    .option("--tz <ZONE>", "IANA time zone of the cron expression, e.g. Europe/Paris (default UTC)")
    .option("--every <D>", `fixed interval instead of --cron, at least 1s: 30s, 5m, 1h${keep}`)
    .option("-q, --queue <Q>", `queue of the tasks${update ? "" : " (default: default)"}`)
    .option("-t, --type <T>", `type of the tasks${update ? "" : " (required)"}`)
    .option("-p, --priority <P>", PRIORITY_HELP)
    .option("--timeout <D>", "timeout per attempt of the tasks: 300 (seconds), 30s, 5m, 1h")
    .option("--max-retries <N>", "retries after the first attempt (each task gets N+1 attempts)")
    .option("-l, --label <k=v>", `a label of the tasks (repeatable${update ? "; replaces the labels" : ""})`, collect)
    .addOption(new Option("--overlap <POLICY>", "a tick while the previous task has not finished: submit anyway, skip it, or keep one until it finishes (default allow)").choices(Object.keys(OVERLAP)))
    .addOption(new Option("--catch-up <POLICY>", "ticks missed while no server ran: none, the latest, or all of them (default latest)").choices(Object.keys(CATCH_UP)))
    .option("--start <T>", `no tick before this RFC 3339 time${update ? " (none: remove)" : ""}`)
    .option("--end <T>", `no tick after this RFC 3339 time${update ? " (none: remove)" : ""}`);
}

/** The schedule `tq schedule create ID [PAYLOAD_JSON]` stores. */
export function scheduleSpecOf(id: string, payloadText: string | undefined, o: ScheduleOptions): ScheduleSpec {
  if (o.cron === undefined && o.every === undefined) throw usageError("--cron", "give --cron or --every");
  if (o.type === undefined) throw usageError("--type", "is required: the type of the tasks the schedule submits");
  const changes = scheduleChangesOf(payloadText, o);
  return {
    id,
    cron: changes.cron,
    intervalMs: changes.intervalMs,
    timeZone: changes.timeZone ?? undefined,
    task: { queue: "default", type: o.type, ...changes.taskChanges },
    overlapPolicy: changes.overlapPolicy ?? undefined,
    catchupPolicy: changes.catchupPolicy ?? undefined,
    startTime: changes.startTime ?? undefined,
    endTime: changes.endTime ?? undefined,
    paused: o.paused === true ? true : undefined,
  };
}

/** The changes `tq schedule update ID [PAYLOAD_JSON]` makes: the fields its options name. */
export function scheduleChangesOf(payloadText: string | undefined, o: ScheduleOptions): ScheduleChanges {
  if (o.cron !== undefined && o.every !== undefined) throw usageError("--every", "give --cron or --every, not both");
  if (o.tz !== undefined && o.every !== undefined) throw usageError("--tz", "goes with --cron: an interval has no time zone");
  const changes: ScheduleChanges = {};
  if (o.cron !== undefined) changes.cron = o.cron;
  if (o.every !== undefined) changes.intervalMs = parseDurationMs(o.every, "--every");
  if (o.tz !== undefined) changes.timeZone = o.tz;
  const task = taskChangesOf(payloadText, o);
  if (Object.keys(task).length > 0) changes.taskChanges = task;
  if (o.overlap !== undefined) changes.overlapPolicy = OVERLAP[o.overlap]!;
  if (o.catchUp !== undefined) changes.catchupPolicy = CATCH_UP[o.catchUp]!;
  if (o.start !== undefined) changes.startTime = o.start === "none" ? null : parseTime(o.start, "--start");
  if (o.end !== undefined) changes.endTime = o.end === "none" ? null : parseTime(o.end, "--end");
  if (o.paused !== undefined) changes.paused = o.paused;
  return changes;
}

function taskChangesOf(payloadText: string | undefined, o: ScheduleOptions): Partial<TaskSpec> {
  const task: Partial<TaskSpec> = {};
  if (o.queue !== undefined) task.queue = o.queue;
  if (o.type !== undefined) task.type = o.type;
  if (payloadText !== undefined) task.payload = parsePayload(payloadText);
  if (o.priority !== undefined) task.priority = parsePriority(o.priority, "--priority");
  if (o.timeout !== undefined) task.timeoutMs = parseDurationMs(o.timeout, "--timeout");
  if (o.maxRetries !== undefined) task.retryPolicy = { maxAttempts: maxAttemptsOfRetries(o.maxRetries, "--max-retries") };
  const labels = parseLabels(o.label ?? [], "--label");
  if (labels !== undefined) task.labels = labels;
  return task;
}

/** `buffer-one` for OverlapPolicy.BUFFER_ONE's name: how the CLI spells policy names. */
export function policyText(name: string): string {
  return name.toLowerCase().replace(/_/g, "-");
}
