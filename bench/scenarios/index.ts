import type { ScenarioName } from "../options.js";
import { backlog } from "./backlog.js";
import { bullmq } from "./bullmq.js";
import type { Scenario } from "./context.js";
import { latency } from "./latency.js";
import { manyWorkers } from "./many-workers.js";
import { limited50, routing4Types, throughputBatch, throughputUnary } from "./throughput.js";

/** Every scenario by name. */
export const scenarios: Readonly<Record<ScenarioName, Scenario>> = {
  throughput_batch: throughputBatch,
  throughput_unary: throughputUnary,
  latency,
  bullmq,
  many_workers: manyWorkers,
  backlog,
  limited_50: limited50,
  routing_4_types: routing4Types,
};
