import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { CreateTokenResponseSchema, ListTokensResponseSchema, Role, TokenInfoSchema, type TokenInfo } from "../../gen/taskqueue/v1/auth_service_pb.js";
import { ROLES, type RoleName } from "../ts/auth-client.js";
import { action } from "./context.js";
import { usageError } from "./errors.js";
import { enumName, formatTime, parseInteger } from "./format.js";
import { messageJson } from "./json.js";

/** Registers the commands of the `tq token` group: create, list, revoke (AuthService, admin only). */
export function registerTokenCommands(token: Command): void {
  token
    .command("create")
    .description("create an API token and print its secret (shown only now)")
    .requiredOption("--role <ROLE>", `what it may call: ${Object.keys(ROLES).join(", ")}`)
    .option("--name <NAME>", "a name to recognise it by", "tq-token")
    .option("-q, --queue <PATTERN>", "a queue it may act on, `*` as wildcard; repeat for more (default: every queue)", collect, [])
    .option("--submit-rate <N>", "quota: tasks per second it may submit to one server (default: the server's QUOTA_SUBMIT_RATE)")
    .option("--submit-burst <N>", "quota: tasks it may submit at once above its rate (default: twice --submit-rate, else QUOTA_SUBMIT_BURST)")
    .option("--max-worker-streams <N>", "quota: worker streams it may hold open on one server (default: QUOTA_WORKER_STREAMS)")
    .action(
      action(async (ctx, command) => {
        const o = command.opts<{ role: string; name: string; queue: string[]; submitRate?: string; submitBurst?: string; maxWorkerStreams?: string }>();
        if (!(o.role in ROLES)) throw usageError("--role", `must be one of ${Object.keys(ROLES).join(", ")}, got "${o.role}"`);
        const quota = (text: string | undefined, option: string) => (text === undefined ? undefined : parseInteger(text, option, 1, 1_000_000_000));
        const created = await ctx.clients().auth.createToken({
          name: o.name,
          role: o.role as RoleName,
          queues: o.queue,
          submitRate: quota(o.submitRate, "--submit-rate"),
          submitBurst: quota(o.submitBurst, "--submit-burst"),
          maxWorkerStreams: quota(o.maxWorkerStreams, "--max-worker-streams"),
        });
        if (ctx.out.json) {
          ctx.out.document(messageJson(CreateTokenResponseSchema, create(CreateTokenResponseSchema, created)));
          return;
        }
        ctx.out.line(created.secret);
        ctx.out.note(`token ${created.token!.id} (${roleOf(created.token!)} on ${created.token!.queues.join(", ")}): keep the secret above, it is not shown again; use it as TQ_TOKEN`);
      }),
    );

  token
    .command("list")
    .description("list the API tokens (never their secrets)")
    .option("--all", "include revoked tokens")
    .action(
      action(async (ctx, command) => {
        const o = command.opts<{ all?: boolean }>();
        const tokens = await ctx.clients().auth.listTokens({ includeRevoked: o.all === true });
        if (ctx.out.json) {
          ctx.out.document(messageJson(ListTokensResponseSchema, create(ListTokensResponseSchema, { tokens })));
          return;
        }
        const rows = tokens.map((t) => [t.id, t.name, roleOf(t), t.queues.join(","), t.prefix + "…", formatTime(t.createdAt), t.revokedAt ? formatTime(t.revokedAt) : "-"]);
        ctx.out.table(["ID", "NAME", "ROLE", "QUEUES", "SECRET", "CREATED", "REVOKED"], rows, "no tokens");
      }),
    );

  token
    .command("revoke")
    .description("revoke an API token: every server refuses it within a second, its worker streams end")
    .argument("<ID>", "token id (tq token list)")
    .action(
      action(async (ctx, command) => {
        const revoked = await ctx.clients().auth.revokeToken(command.processedArgs[0] as string);
        if (ctx.out.json) ctx.out.document(messageJson(TokenInfoSchema, create(TokenInfoSchema, revoked)));
        else ctx.out.line(`revoked ${revoked.id} (${revoked.name})`);
      }),
    );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function roleOf(token: TokenInfo): string {
  return enumName(Role, token.role).toLowerCase();
}
