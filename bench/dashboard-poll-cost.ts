/**
 * What an open dashboard costs the server: the RPCs one refresh of each page makes (as
 * `clients/web` makes them: Connect, binary protobuf, over HTTP/1.1), issued back to back
 * against a private stack, with the CPU time of the server, Redis and Postgres per refresh,
 * and what that means at the dashboard's poll interval (one refresh per 5 s per open tab).
 *
 *   npx tsx bench/dashboard-poll-cost.ts [--queues 20] [--refreshes 300]
 *
 * Schedules: 25 daily schedules (one page of the list), each triggered once.
 */
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ClusterService } from "../gen/taskqueue/v1/cluster_service_pb.js";
import { QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { ScheduleService } from "../gen/taskqueue/v1/schedule_service_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { childPids, CpuMeter } from "./cpu-meter.js";
import { startStack } from "./stack.js";

/** The dashboard's poll interval (clients/web/src/main.ts, POLL_INTERVAL_MS). */
const POLL_INTERVAL_MS = 5_000;

const { values } = parseArgs({ options: { queues: { type: "string", default: "20" }, refreshes: { type: "string", default: "300" } } });
const queueCount = Number(values.queues);
const refreshes = Number(values.refreshes);

const stack = await startStack({ logger: createLogger({ name: "bench", level: "warn" }) });
try {
  const transport = createConnectTransport({ baseUrl: stack.server.httpUrl, httpVersion: "1.1", useBinaryFormat: true });
  const tasks = createClient(TaskService, transport);
  const queues = createClient(QueueService, transport);
  const cluster = createClient(ClusterService, transport);
  const schedules = createClient(ScheduleService, transport);
  const names = Array.from({ length: queueCount }, (_, i) => `dash-${String(i).padStart(3, "0")}`);
  for (const queue of names) {
    await tasks.submitTasks({ tasks: Array.from({ length: 20 }, (_, i) => ({ queue, type: "echo", payload: undefined, priority: i % 3 })) });
  }
  // A full page of the Schedules list (25), each triggered once so it has a last firing; daily, so none fires meanwhile.
  for (let i = 0; i < 25; i++) {
    const id = `dash-schedule-${String(i).padStart(3, "0")}`;
    await schedules.createSchedule({ schedule: { id, spec: { case: "cron", value: "0 3 * * *" }, task: { queue: names[0]!, type: "echo" } } });
    await schedules.triggerSchedule({ id });
  }

  const pages: Record<string, () => Promise<unknown>> = {
    overview: async () => {
      let pageToken = "";
      do pageToken = (await queues.listQueues({ pageSize: 100, pageToken })).nextPageToken;
      while (pageToken !== "");
      await cluster.getSystemHealth({});
    },
    queue: () => Promise.all([queues.getQueue({ name: names[0]! }), tasks.listTasks({ queue: names[0]!, pageSize: 50 })]),
    workers: () => cluster.listWorkers({}),
    // ListSchedules carries no firings: the page reads each shown schedule's last one.
    schedules: async () => {
      const page = await schedules.listSchedules({ pageSize: 25 });
      await Promise.all(page.schedules.map((s) => schedules.getSchedule({ id: s.id })));
    },
    schedule: () => schedules.getSchedule({ id: "dash-schedule-000" }),
  };
  const meter = () =>
    new CpuMeter({
      server: () => [stack.server.pid],
      redis: () => (stack.redisPid === undefined ? [] : [stack.redisPid]),
      postgres: async () => (stack.postgresPid === undefined ? [] : [stack.postgresPid, ...(await childPids(stack.postgresPid))]),
    });

  // The server's own background work (registry refresh, dependency checks), to subtract.
  const idle = meter();
  await idle.start();
  const idleStart = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const idleUse = await idle.stop();
  const idleSeconds = (Date.now() - idleStart) / 1000;

  console.log(`${queueCount} queues of 20 tasks; ${refreshes} refreshes per page, back to back; idle server ${idleUse.server!.toFixed(2)}% of a core over ${idleSeconds.toFixed(0)} s`);
  console.log("page       server ms/refresh  redis ms/refresh  postgres ms/refresh  wall ms/refresh  server % of a core per open tab (1 refresh / 5 s)");
  for (const [name, refresh] of Object.entries(pages)) {
    for (let i = 0; i < 20; i++) await refresh();
    const m = meter();
    await m.start();
    const started = Date.now();
    for (let i = 0; i < refreshes; i++) await refresh();
    const seconds = (Date.now() - started) / 1000;
    const use = await m.stop();
    const perRefreshMs = (group: string) => ((use[group]! - (idleUse[group] ?? 0)) / 100) * seconds * 1000 / refreshes;
    const serverMs = perRefreshMs("server");
    console.log(
      `${name.padEnd(10)} ${serverMs.toFixed(2).padStart(17)}  ${perRefreshMs("redis").toFixed(2).padStart(16)}  ${perRefreshMs("postgres").toFixed(2).padStart(19)}  ${((seconds * 1000) / refreshes).toFixed(2).padStart(15)}  ${((100 * serverMs) / POLL_INTERVAL_MS).toFixed(3).padStart(8)}%`,
    );
  }
} finally {
  await stack.stop();
}
