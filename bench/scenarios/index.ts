import type { ScenarioName } from "../options.js";
import { backlog } from "./backlog.js";
import { bullmq } from "./bullmq.js";
import { cliStartup } from "./cli-startup.js";
import { cluster } from "./cluster.js";
import type { Scenario } from "./context.js";
import { graphileWorker, graphileWorkerDefaults, latencyGraphileWorker } from "./graphile-worker.js";
import { listQueues, listQueuesPolling, listWorkers } from "./control-plane.js";
import { dashboardPolling } from "./dashboard.js";
import { latency } from "./latency.js";
import { manyWorkers } from "./many-workers.js";
import { latencyRiver, river, riverDefaults } from "./river.js";
import { concurrency50, limited50, oneType4Workers, routing4Types, throughputBatch, throughputBatch500, throughputUnary } from "./throughput.js";
import { fairKeys } from "./fair-keys.js";
import { schedules } from "./schedules.js";

/** Every scenario by name. */
export const scenarios: Readonly<Record<ScenarioName, Scenario>> = {
  throughput_batch: throughputBatch,
  throughput_batch_500: throughputBatch500,
  throughput_unary: throughputUnary,
  latency,
  bullmq,
  graphile_worker: graphileWorker,
  graphile_worker_defaults: graphileWorkerDefaults,
  river,
  river_defaults: riverDefaults,
  latency_graphile_worker: latencyGraphileWorker,
  latency_river: latencyRiver,
  many_workers: manyWorkers,
  list_workers: listWorkers,
  list_queues_polling: listQueuesPolling,
  dashboard_polling: dashboardPolling,
  backlog,
  limited_50: limited50,
  concurrency_50: concurrency50,
  routing_4_types: routing4Types,
  one_type_4_workers: oneType4Workers,
  fair_keys: fairKeys,
  cli_startup: cliStartup,
  schedules,
  list_queues: listQueues,
  cluster,
};
