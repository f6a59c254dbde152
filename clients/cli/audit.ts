import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ListAuditEventsResponseSchema } from "../../gen/taskqueue/v1/auth_service_pb.js";
import { action } from "./context.js";
import { formatTime, parseInteger } from "./format.js";
import { messageJson } from "./json.js";

/** Registers the commands of the `tq audit` group: list (AuthService.ListAuditEvents, admin only). */
export function registerAuditCommands(audit: Command): void {
  audit
    .command("list")
    .description("admin and operator actions, newest first: who, from where, what, outcome")
    .option("--limit <N>", "page size, 1-1000", "20")
    .option("--page-token <T>", "the page token printed under the previous page")
    .action(
      action(async (ctx, command) => {
        const o = command.opts<{ limit: string; pageToken?: string }>();
        const page = await ctx.clients().auth.listAuditEvents({ pageSize: parseInteger(o.limit, "--limit", 1, 1000), pageToken: o.pageToken });
        if (ctx.out.json) {
          ctx.out.document(messageJson(ListAuditEventsResponseSchema, create(ListAuditEventsResponseSchema, page)));
          return;
        }
        const rows = page.events.map((e) => [formatTime(e.time), e.actor, e.role, e.peer, e.method.replace(/^\/taskqueue\.v1\./, ""), e.outcome, e.requestJson]);
        ctx.out.table(["TIME", "ACTOR", "ROLE", "FROM", "METHOD", "OUTCOME", "REQUEST"], rows, "no audit events");
        if (page.nextPageToken) ctx.out.note(`more: --page-token ${page.nextPageToken}`);
      }),
    );
}
