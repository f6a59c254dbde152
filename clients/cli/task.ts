import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { CancelTaskResponseSchema, GetTaskResponseSchema, ListTasksResponseSchema } from "../../gen/taskqueue/v1/task_service_pb.js";
import { TaskSchema, TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import type { TaskStateFilter } from "../ts/task-client.js";
import { action } from "./context.js";
import { usageError } from "./errors.js";
import { parseInteger } from "./format.js";
import { messageJson } from "./json.js";
import { registerSubmitBatch } from "./task-batch.js";
import { collect } from "./task-options.js";
import { registerSubmit } from "./task-submit.js";
import { ATTEMPT_HEADERS, attemptRow, stateText, TASK_HEADERS, taskFields, taskRow } from "./task-view.js";
import { followTask, outcomeExitCode } from "./task-wait.js";

const STATE_NAMES = Object.values(TaskState).filter((v): v is string => typeof v === "string" && v !== "UNSPECIFIED");

/** Registers the commands of the `tq task` group: submit, submit-batch, get, list, cancel, watch (TaskService). */
export function registerTaskCommands(task: Command): void {
  registerSubmit(task);
  registerSubmitBatch(task);

  task
    .command("get")
    .description("show one task (exit 3 when it does not exist)")
    .argument("<ID>", "task id")
    .option("-a, --attempts", "also show the attempt history")
    .action(
      action(async (ctx, command) => {
        const [id] = command.processedArgs as [string];
        const { attempts } = command.opts<{ attempts?: boolean }>();
        const details = await ctx.clients().tasks.getTask(id, { includeAttempts: attempts === true });
        if (ctx.out.json) {
          ctx.out.document(messageJson(GetTaskResponseSchema, create(GetTaskResponseSchema, details)));
          return;
        }
        ctx.out.fields(taskFields(details.task, ctx.out.colors));
        if (attempts) {
          ctx.out.line();
          ctx.out.table(ATTEMPT_HEADERS, details.attempts.map((a) => attemptRow(a)), "no attempts yet");
        }
      }),
    );

  task
    .command("list")
    .description("list tasks, newest first, one page at a time")
    .option("-q, --queue <Q>", "only this queue")
    .option("--state <S>", `only this state (repeatable): ${STATE_NAMES.join(", ")}`, collect)
    .option("-t, --type <T>", "only this task type")
    .option("--limit <N>", "page size, 1-1000", "20")
    .option("--page-token <T>", "the page token printed under the previous page")
    .action(
      action(async (ctx, command) => {
        const o = command.opts<{ queue?: string; state?: string[]; type?: string; limit: string; pageToken?: string }>();
        const states = (o.state ?? []).map((s) => parseState(s));
        const page = await ctx.clients().tasks.listTasks({
          queue: o.queue,
          type: o.type,
          states,
          pageSize: parseInteger(o.limit, "--limit", 1, 1000),
          pageToken: o.pageToken,
        });
        if (ctx.out.json) {
          ctx.out.document(messageJson(ListTasksResponseSchema, create(ListTasksResponseSchema, page)));
          return;
        }
        ctx.out.table(TASK_HEADERS, page.tasks.map((t) => taskRow(t, ctx.out.colors)), "no tasks");
        if (page.nextPageToken) ctx.out.note(`more: --page-token ${page.nextPageToken}`);
      }),
    );

  task
    .command("cancel")
    .description("cancel a task that has not finished (exit 4 when it already has)")
    .argument("<ID>", "task id")
    .option("--reason <R>", "why, recorded on the task")
    .action(
      action(async (ctx, command) => {
        const [id] = command.processedArgs as [string];
        const { reason } = command.opts<{ reason?: string }>();
        const cancelled = await ctx.clients().tasks.cancelTask(id, { reason });
        if (ctx.out.json) {
          ctx.out.document(messageJson(CancelTaskResponseSchema, create(CancelTaskResponseSchema, { task: cancelled })));
        } else if (cancelled.state === TaskState.RUNNING) {
          ctx.out.line(`${cancelled.id} ${stateText(cancelled.state, ctx.out.colors)}: its worker was told to abort`);
        } else {
          ctx.out.line(`${cancelled.id} ${stateText(cancelled.state, ctx.out.colors)}`);
        }
      }),
    );

  task
    .command("watch")
    .description("follow a task's state and progress until it ends (exit 1 unless it SUCCEEDED)")
    .argument("<ID>", "task id")
    .action(
      action(async (ctx, command) => {
        const [id] = command.processedArgs as [string];
        const done = await followTask(ctx, id);
        if (ctx.out.json) ctx.out.document({ task: messageJson(TaskSchema, done) });
        else ctx.out.fields(taskFields(done, ctx.out.colors));
        return outcomeExitCode(done);
      }),
    );
}

/** A state name (any case, with or without the TASK_STATE_ prefix). */
function parseState(text: string): TaskStateFilter {
  const name = text.trim().toUpperCase().replace(/^TASK_STATE_/, "");
  if (!STATE_NAMES.includes(name)) throw usageError("--state", `"${text}" is not a task state (${STATE_NAMES.join(", ")})`);
  return name as TaskStateFilter;
}

