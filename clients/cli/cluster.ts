import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import {
  DependencyStatus,
  GetSystemHealthResponseSchema,
  ListServersResponseSchema,
  ListWorkersResponseSchema,
  type DependencyHealth,
  type ServerInfo,
  SystemStatus,
} from "../../gen/taskqueue/v1/cluster_service_pb.js";
import { action } from "./context.js";
import { EXIT } from "./exit-codes.js";
import { enumName, formatProtoDuration, formatRelative } from "./format.js";
import { messageJson } from "./json.js";
import type { Colors } from "./output.js";

/** Registers `tq worker list` (ClusterService.ListWorkers). */
export function registerWorkerCommands(worker: Command): void {
  worker
    .command("list")
    .description("list the worker sessions connected to any server")
    .option("-q, --queue <Q>", "only workers serving this queue")
    .action(
      action(async (ctx, command) => {
        const { queue } = command.opts<{ queue?: string }>();
        const workers = await ctx.clients().cluster.listWorkers({ queue });
        if (ctx.out.json) {
          ctx.out.document(messageJson(ListWorkersResponseSchema, create(ListWorkersResponseSchema, { workers })));
          return;
        }
        const rows = workers.map((w) => [
          w.workerId,
          w.queues.join(","),
          `${w.inFlight}/${w.capacity}`,
          [w.sdkName, w.sdkVersion].filter(Boolean).join(" ") || "-",
          w.serverId,
          formatRelative(w.connectedAt),
          formatRelative(w.lastHeartbeatAt),
          w.draining ? ctx.out.colors.yellow("draining") : "serving",
        ]);
        ctx.out.table(["WORKER", "QUEUES", "BUSY/SLOTS", "SDK", "SERVER", "CONNECTED", "HEARTBEAT", "STATE"], rows, "no workers connected");
      }),
    );

}

/** Registers `tq server list` (ClusterService.ListServers). */
export function registerServerCommands(server: Command): void {
  server
    .command("list")
    .description("list the live servers sharing this Redis and Postgres")
    .action(
      action(async (ctx) => {
        const servers = await ctx.clients().cluster.listServers();
        if (ctx.out.json) {
          ctx.out.document(messageJson(ListServersResponseSchema, create(ListServersResponseSchema, { servers })));
          return;
        }
        ctx.out.table(SERVER_HEADERS, servers.map((s) => serverRow(s, ctx.out.colors)), "no live servers");
      }),
    );

}

/** Registers `tq system health` (ClusterService.GetSystemHealth). */
export function registerSystemCommands(system: Command): void {
  system
    .command("health")
    .description("check Postgres and Redis now; exit 1 unless the system is serving (usable as a probe)")
    .action(
      action(async (ctx) => {
        const health = await ctx.clients().cluster.getSystemHealth();
        const serving = health.status === SystemStatus.SERVING;
        const { out } = ctx;
        if (out.json) {
          out.document(messageJson(GetSystemHealthResponseSchema, health));
        } else {
          const status = enumName(SystemStatus, health.status);
          out.fields([
            ["Status", serving ? out.colors.green(status) : out.colors.red(status)],
            ["Postgres", dependencyText(health.postgres, out.colors)],
            ["Redis", dependencyText(health.redis, out.colors)],
            ["Answered by", health.serverId],
            ["Checked", formatRelative(health.checkedAt)],
          ]);
          out.line();
          out.table(SERVER_HEADERS, health.servers.map((s) => serverRow(s, out.colors)), "no live servers listed (Redis holds the list)");
        }
        return serving ? EXIT.ok : EXIT.failed;
      }),
    );
}

const SERVER_HEADERS = ["SERVER", "GRPC", "HTTP", "VERSION", "STARTED", "WORKERS", "STATE"] as const;

function serverRow(s: ServerInfo, colors: Colors): string[] {
  return [s.serverId, s.address, s.httpAddress, s.version, formatRelative(s.startedAt), String(s.connectedWorkers), s.draining ? colors.yellow("draining") : "serving"];
}

function dependencyText(d: DependencyHealth | undefined, colors: Colors): string {
  if (d === undefined) return "-";
  const name = enumName(DependencyStatus, d.status);
  return d.status === DependencyStatus.OK ? `${colors.green(name)} (${formatProtoDuration(d.latency)})` : colors.red(name);
}
