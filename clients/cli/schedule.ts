import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import {
  GetScheduleResponseSchema,
  ListSchedulesResponseSchema,
  ScheduleSchema,
  TriggerScheduleResponseSchema,
  type Schedule,
} from "../../gen/taskqueue/v1/schedule_service_pb.js";
import { confirm } from "./confirm.js";
import { action, type CliContext } from "./context.js";
import { usageError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { messageJson } from "./json.js";
import { addScheduleOptions, scheduleChangesOf, scheduleSpecOf, type ScheduleOptions } from "./schedule-options.js";
import { FIRING_HEADERS, firingRow, isoText, SCHEDULE_HEADERS, scheduleFields, scheduleRow } from "./schedule-view.js";

/** Registers the commands of the `tq schedule` group (ScheduleService). */
export function registerScheduleCommands(schedule: Command): void {
  addScheduleOptions(
    schedule
      .command("create")
      .description("create a schedule that submits a task at each tick of a cron expression or interval")
      .argument("<ID>", "schedule id: 1-128 characters of letters, digits and . _ : -")
      .argument("[PAYLOAD_JSON]", "the tasks' payload as JSON"),
    false,
  )
    .option("--paused", "create it paused (tq schedule resume starts it)")
    .addHelpText(
      "after",
      `\nExamples:\n  tq schedule create nightly-report '{"format":"pdf"}' --cron '30 2 * * *' --tz America/New_York --queue reports --type report.nightly\n  tq schedule create heartbeat --every 30s --type echo --overlap skip`,
    )
    .action(
      action(async (ctx, command) => {
        const [id, payload] = command.processedArgs as [string, string | undefined];
        const created = await ctx.clients().schedules.createSchedule(scheduleSpecOf(id, payload, command.opts<ScheduleOptions>()));
        printSchedule(ctx, created);
      }),
    );

  schedule
    .command("list")
    .description("list the schedules with their spec and next fire time")
    .action(
      action(async (ctx) => {
        const schedules = await ctx.clients().schedules.listAllSchedules();
        if (ctx.out.json) {
          ctx.out.document(messageJson(ListSchedulesResponseSchema, create(ListSchedulesResponseSchema, { schedules })));
          return;
        }
        ctx.out.table(SCHEDULE_HEADERS, schedules.map((s) => scheduleRow(s, ctx.out.colors)), "no schedules");
      }),
    );

  schedule
    .command("get")
    .description("show a schedule, its next 5 fire times and its last 20 firings")
    .argument("<ID>", "schedule id (exit 3 when there is none)")
    .action(
      action(async (ctx, command) => {
        const [id] = command.processedArgs as [string];
        const details = await ctx.clients().schedules.getSchedule(id);
        if (ctx.out.json) {
          ctx.out.document(messageJson(GetScheduleResponseSchema, create(GetScheduleResponseSchema, details)));
          return;
        }
        const now = Date.now();
        ctx.out.fields(scheduleFields(details.schedule, ctx.out.colors, now));
        ctx.out.line();
        ctx.out.line(ctx.out.colors.bold("Next fire times:"));
        if (details.nextFireTimes.length === 0) ctx.out.line("  none");
        for (const t of details.nextFireTimes) ctx.out.line(`  ${isoText(t)}`);
        ctx.out.line();
        ctx.out.table(FIRING_HEADERS, details.recentFirings.map((f) => firingRow(f, ctx.out.colors, now)), "no firings yet");
      }),
    );

  addScheduleOptions(
    schedule
      .command("update")
      .description("change a schedule: only the fields the options name (the update mask is built from them)")
      .argument("<ID>", "schedule id")
      .argument("[PAYLOAD_JSON]", "a new payload for the tasks, as JSON"),
    true,
  )
    .option("--paused", "pause it")
    .option("--no-paused", "resume it")
    .addHelpText("after", `\nExample:\n  tq schedule update nightly-report --cron '0 6 * * MON-FRI' --tz Europe/Paris --priority high`)
    .action(
      action(async (ctx, command) => {
        const [id, payload] = command.processedArgs as [string, string | undefined];
        const changes = scheduleChangesOf(payload, command.opts<ScheduleOptions>());
        if (Object.keys(changes).length === 0) throw usageError("options", "name at least one field to change (see tq schedule update --help)");
        printSchedule(ctx, await ctx.clients().schedules.updateSchedule(id, changes));
      }),
    );

  schedule
    .command("delete")
    .description("delete a schedule and its firing history (the tasks it created stay)")
    .argument("<ID>", "schedule id")
    .option("-y, --yes", "do not ask for confirmation (needed when stdin is not a terminal)")
    .action(
      action(async (ctx, command) => {
        const [id] = command.processedArgs as [string];
        if (!command.opts<{ yes?: boolean }>().yes && !(await confirm(ctx, `Delete schedule ${id} and its firing history?`))) {
          ctx.out.note("nothing deleted");
          return EXIT.failed;
        }
        await ctx.clients().schedules.deleteSchedule(id);
        if (ctx.out.json) ctx.out.document({});
        else ctx.out.line(`deleted schedule ${id}`);
      }),
    );

  schedule
    .command("pause")
    .description("stop a schedule from firing")
    .argument("<ID>", "schedule id")
    .action(action(async (ctx, command) => printSchedule(ctx, await ctx.clients().schedules.pauseSchedule(command.processedArgs[0] as string))));

  schedule
    .command("resume")
    .description("let a paused schedule fire again from its next tick (ticks during the pause are not caught up)")
    .argument("<ID>", "schedule id")
    .action(action(async (ctx, command) => printSchedule(ctx, await ctx.clients().schedules.resumeSchedule(command.processedArgs[0] as string))));

  schedule
    .command("trigger")
    .description("fire a schedule once, now (also when paused), and print the task's id")
    .argument("<ID>", "schedule id")
    .action(
      action(async (ctx, command) => {
        const trigger = await ctx.clients().schedules.triggerSchedule(command.processedArgs[0] as string);
        if (ctx.out.json) ctx.out.document(messageJson(TriggerScheduleResponseSchema, create(TriggerScheduleResponseSchema, trigger)));
        else ctx.out.line(trigger.task.id);
      }),
    );
}

/** Prints a schedule: `{ "schedule": … }` with --json, its fields otherwise. */
function printSchedule(ctx: CliContext, schedule: Schedule): void {
  if (ctx.out.json) ctx.out.document({ schedule: messageJson(ScheduleSchema, schedule) });
  else ctx.out.fields(scheduleFields(schedule, ctx.out.colors));
}
