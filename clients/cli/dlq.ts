import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ListDeadTasksResponseSchema, RedriveDeadTasksResponseSchema } from "../../gen/taskqueue/v1/dead_letter_service_pb.js";
import type { DeadTaskSelection } from "../ts/dead-letter-client.js";
import { confirm } from "./confirm.js";
import { action } from "./context.js";
import { usageError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { parseDurationMs, parseInteger, parseTime } from "./format.js";
import { messageJson } from "./json.js";
import { errorText, TASK_HEADERS, taskRow } from "./task-view.js";

/** Registers the commands of the `tq dlq` group: list, redrive, purge (DeadLetterService). */
export function registerDlqCommands(dlq: Command): void {

  dlq
    .command("list")
    .description("list DEAD tasks, newest first, with their last error")
    .option("-q, --queue <Q>", "only this queue")
    .option("--limit <N>", "page size, 1-1000", "20")
    .option("--page-token <T>", "the page token printed under the previous page")
    .action(
      action(async (ctx, command) => {
        const o = command.opts<{ queue?: string; limit: string; pageToken?: string }>();
        const page = await ctx.clients().deadLetters.listDeadTasks({ queue: o.queue, pageSize: parseInteger(o.limit, "--limit", 1, 1000), pageToken: o.pageToken });
        if (ctx.out.json) {
          ctx.out.document(messageJson(ListDeadTasksResponseSchema, create(ListDeadTasksResponseSchema, page)));
          return;
        }
        const rows = page.tasks.map((t) => [...taskRow(t, ctx.out.colors), t.lastError ? errorText(t.lastError) : "-"]);
        ctx.out.table([...TASK_HEADERS, "LAST ERROR"], rows, "no dead tasks");
        if (page.nextPageToken) ctx.out.note(`more: --page-token ${page.nextPageToken}`);
      }),
    );

  dlq
    .command("redrive")
    .description("put DEAD tasks back to QUEUED with a fresh attempt budget: by ids, or a whole queue")
    .argument("[ID...]", "task ids")
    .option("-q, --queue <Q>", "every DEAD task of this queue (up to --limit)")
    .option("--limit <N>", "most tasks re-driven with --queue, 1-10000", "1000")
    .action(
      action(async (ctx, command) => {
        const o = command.opts<{ queue?: string; limit: string }>();
        const selection = selectionOf(command.processedArgs[0] as string[], o.queue);
        const limit = parseInteger(o.limit, "--limit", 1, 10_000);
        const redrive = await ctx.clients().deadLetters.redriveDeadTasks(selection, { limit });
        if (ctx.out.json) {
          ctx.out.document(messageJson(RedriveDeadTasksResponseSchema, create(RedriveDeadTasksResponseSchema, redrive)));
          return;
        }
        for (const t of redrive.tasks) ctx.out.line(t.id);
        for (const id of redrive.skippedIds) ctx.out.note(`skipped ${id}: not found or not DEAD`);
        ctx.out.note(`re-drove ${redrive.tasks.length} task${redrive.tasks.length === 1 ? "" : "s"}, skipped ${redrive.skippedIds.length}`);
      }),
    );

  dlq
    .command("purge")
    .description("delete DEAD tasks and their history for good: by ids, or a whole queue")
    .argument("[ID...]", "task ids")
    .option("-q, --queue <Q>", "the DEAD tasks of this queue")
    .option("--before <T>", "with --queue: only tasks that died before this RFC 3339 time, or this long ago (7d)")
    .option("-y, --yes", "do not ask for confirmation (needed when stdin is not a terminal)")
    .action(
      action(async (ctx, command) => {
        const o = command.opts<{ queue?: string; before?: string; yes?: boolean }>();
        const selection = selectionOf(command.processedArgs[0] as string[], o.queue);
        if (o.before !== undefined && o.queue === undefined) throw usageError("--before", "goes with --queue");
        const finishedBefore = o.before === undefined ? undefined : beforeOf(o.before);
        if (!o.yes && !(await confirm(ctx, purgeQuestion(selection, finishedBefore)))) {
          ctx.out.note("nothing purged");
          return EXIT.failed;
        }
        const purged = await ctx.clients().deadLetters.purgeDeadTasks(selection, { finishedBefore });
        if (ctx.out.json) ctx.out.document({ purged: String(purged) });
        else ctx.out.line(`purged ${purged} task${purged === 1 ? "" : "s"}`);
      }),
    );
}

function selectionOf(ids: string[], queue: string | undefined): DeadTaskSelection {
  if (ids.length > 0 && queue !== undefined) throw usageError("--queue", "give task ids or --queue, not both");
  if (ids.length > 0) return { ids };
  if (queue !== undefined) return { queue };
  throw usageError("ID", "give task ids or --queue");
}

/** `--before`: an RFC 3339 time, or a duration back from now. */
function beforeOf(text: string): Date {
  return /^\d{4}-/.test(text.trim()) ? parseTime(text, "--before") : new Date(Date.now() - parseDurationMs(text, "--before"));
}

function purgeQuestion(selection: DeadTaskSelection, before: Date | undefined): string {
  if (selection.ids) return `Delete ${selection.ids.length} dead task${selection.ids.length === 1 ? "" : "s"} for good?`;
  return `Delete every dead task of queue ${selection.queue}${before ? ` that died before ${before.toISOString()}` : ""} for good?`;
}
