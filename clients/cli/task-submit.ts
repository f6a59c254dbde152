import { text } from "node:stream/consumers";
import type { Command } from "commander";
import { TaskSchema, TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import type { TaskSpec } from "../ts/task-spec.js";
import { action, type CliContext } from "./context.js";
import { usageError } from "./errors.js";
import { enumName, parseDurationMs, parseTime } from "./format.js";
import { messageJson } from "./json.js";
import { collect, maxAttemptsOfRetries, parseLabels, parsePayload, parsePriority, PRIORITY_HELP } from "./task-options.js";
import { dataText, errorText } from "./task-view.js";
import { followTask, outcomeExitCode } from "./task-wait.js";

interface SubmitOptions {
  queue: string;
  priority?: string;
  timeout?: string;
  scheduledAt?: string;
  delay?: string;
  maxRetries?: string;
  idempotencyKey?: string;
  concurrencyKey?: string;
  label?: string[];
  wait?: boolean;
}

/** Registers `tq task submit`. */
export function registerSubmit(task: Command): void {
  task
    .command("submit")
    .description("submit one task and print its id; with --wait, wait for its outcome and print its result")
    .argument("<TYPE>", "task type, as the worker's handler names it")
    .argument("[PAYLOAD_JSON]", "the payload as JSON; - reads it from stdin")
    .option("-q, --queue <Q>", "queue", "default")
    .option("-p, --priority <P>", PRIORITY_HELP)
    .option("--timeout <D>", "timeout per attempt: 300 (seconds), 30s, 5m, 1h")
    .option("--scheduled-at <T>", "do not run before this RFC 3339 time")
    .option("--delay <D>", "do not run before this long from now: 10s, 5m")
    .option("--max-retries <N>", "retries after the first attempt (the task gets N+1 attempts); default: the queue's")
    .option("--idempotency-key <K>", "a second submit with the same key in the same queue returns the first task")
    .option("--concurrency-key <K>", "concurrency key (e.g. a customer id): the queue's --max-per-key caps its running tasks, keys take turns")
    .option("-l, --label <k=v>", "a label (repeatable)", collect)
    .option("-w, --wait", "wait for the outcome: exit 1 when the task ends DEAD, CANCELLED or EXPIRED")
    .addHelpText(
      "after",
      `\nExamples:\n  tq task submit echo '{"to":"a@b.c"}' --queue emails --priority high\n  tq task submit resize - --wait < payload.json`,
    )
    .action(action(submit));
}

async function submit(ctx: CliContext, command: Command): Promise<number> {
  const [type, payloadText] = command.processedArgs as [string, string | undefined];
  const options = command.opts<SubmitOptions>();
  const spec: TaskSpec = { queue: options.queue, type, ...specOfOptions(options) };
  if (payloadText !== undefined) spec.payload = parsePayload(payloadText === "-" ? await readStdin() : payloadText);
  const submitted = await ctx.clients().tasks.submitTask(spec);
  if (!options.wait) {
    if (ctx.out.json) ctx.out.document({ task: messageJson(TaskSchema, submitted.task), existing: submitted.existing });
    else ctx.out.line(submitted.task.id);
    return 0;
  }
  if (!ctx.out.json) ctx.out.line(submitted.task.id);
  const done = await followTask(ctx, submitted.task.id, submitted.task);
  if (ctx.out.json) {
    ctx.out.document({ task: messageJson(TaskSchema, done), existing: submitted.existing });
  } else if (done.resultData.case !== undefined) {
    ctx.out.line(dataText(done.resultData));
  }
  const exitCode = outcomeExitCode(done);
  if (exitCode !== 0) {
    const why = done.lastError ? `: ${errorText(done.lastError)}` : done.cancelReason ? `: ${done.cancelReason}` : "";
    ctx.out.note(`${ctx.out.errColors.red("task ended")} ${done.id} ${enumName(TaskState, done.state)}${why}`);
  }
  return exitCode;
}

/** The spec fields the options of `submit` set. */
function specOfOptions(options: SubmitOptions): Partial<TaskSpec> {
  if (options.scheduledAt !== undefined && options.delay !== undefined) throw usageError("--scheduled-at", "give --scheduled-at or --delay, not both");
  const spec: Partial<TaskSpec> = {};
  if (options.priority !== undefined) spec.priority = parsePriority(options.priority, "--priority");
  if (options.timeout !== undefined) spec.timeoutMs = parseDurationMs(options.timeout, "--timeout");
  if (options.scheduledAt !== undefined) spec.runAt = parseTime(options.scheduledAt, "--scheduled-at");
  if (options.delay !== undefined) spec.runAt = Date.now() + parseDurationMs(options.delay, "--delay");
  if (options.maxRetries !== undefined) spec.retryPolicy = { maxAttempts: maxAttemptsOfRetries(options.maxRetries, "--max-retries") };
  if (options.idempotencyKey !== undefined) spec.idempotencyKey = options.idempotencyKey;
  if (options.concurrencyKey !== undefined) spec.concurrencyKey = options.concurrencyKey;
  const labels = parseLabels(options.label ?? [], "--label");
  if (labels !== undefined) spec.labels = labels;
  return spec;
}

/** Reads all of stdin (for a payload or batch file given as `-`). */
export async function readStdin(): Promise<string> {
  return text(process.stdin);
}
