import { setTimeout as delay } from "node:timers/promises";
import { fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { QueueService } from "../../gen/taskqueue/v1/queue_service_pb.js";
import { TaskService } from "../../gen/taskqueue/v1/task_service_pb.js";
import { createLogger } from "../../server/observability/logger.js";
import { createWorker } from "../../worker/index.js";
import { BenchVerificationError } from "../errors.js";
import { summarize } from "../stats.js";
import { deadlineMs, monotonicUs, uniqueQueue, type Scenario } from "./context.js";

/** Tasks of the small key, submitted after the big key's burst. */
const SMALL_KEY_TASKS = 10;
/** The queue's max_concurrency_per_key. */
const PER_KEY = 2;
/** Tasks per SubmitTasks call of the burst, and calls in flight. */
const BATCH = 1000;
const IN_FLIGHT = 4;
/** How long each task's handler runs, ms. */
const WORK_MS = 5;

/**
 * fair_keys: concurrency keys. Key A submits `--tasks` tasks (100,000 by default) in batches,
 * then key B submits 10 in one batch, into a queue with max_concurrency_per_key 2 and one SDK
 * worker (in this process) with `--concurrency` slots whose handlers take 5 ms. Reports B's
 * start delays (SubmitTasks acknowledged → B's handler starts, one clock), p50 and max: dispatch
 * serves keys round-robin, so B's tasks start in their turns instead of behind A's backlog.
 * The queue is paused at the end with what is left of A's backlog QUEUED: the scenario runs last.
 */
function payloadOf(key: string) {
  return { case: "payload" as const, value: fromJson(ValueSchema, { key }) };
}

export const fairKeys: Scenario = async (context) => {
  const { options } = context;
  const address = context.stack.server.grpcAddress;
  const transport = createGrpcTransport({ baseUrl: `http://${address}` });
  const tasks = createClient(TaskService, transport);
  const queues = createClient(QueueService, transport);
  const queue = uniqueQueue("fair-keys");
  const burst = options.tasks;
  const timeoutMs = deadlineMs(context, SMALL_KEY_TASKS * 1000);
  await queues.updateQueue({ name: queue, settings: { maxConcurrencyPerKey: PER_KEY }, updateMask: { paths: ["max_concurrency_per_key"] } });

  const startedB = new Map<string, number>();
  let startedA = 0;
  let allBStarted: () => void = () => undefined;
  const bDone = new Promise<void>((resolve) => (allBStarted = resolve));
  const worker = createWorker({
    address,
    queues: [queue],
    concurrency: options.concurrency,
    logger: createLogger({ level: "silent" }),
    handlers: {
      work: async (task) => {
        if ((task.payload as { key: string }).key === "B") {
          startedB.set(task.id, performance.timeOrigin + performance.now());
          if (startedB.size === SMALL_KEY_TASKS) allBStarted();
        } else {
          startedA++;
        }
        await delay(WORK_MS);
      },
    },
  });
  await worker.start();
  try {
    const fromUs = monotonicUs();
    const burstStart = performance.now();
    let next = 0;
    const submitter = async () => {
      while (next < burst) {
        const n = Math.min(BATCH, burst - next);
        next += n;
        await tasks.submitTasks({ tasks: Array.from({ length: n }, () => ({ queue, type: "work", concurrencyKey: "A", payloadData: payloadOf("A") })) });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, submitter));
    const burstMs = performance.now() - burstStart;
    const aBeforeB = startedA;
    const { results } = await tasks.submitTasks({
      tasks: Array.from({ length: SMALL_KEY_TASKS }, () => ({ queue, type: "work", concurrencyKey: "B", payloadData: payloadOf("B") })),
    });
    const ackedAt = performance.timeOrigin + performance.now();
    const ids = results.map((r) => (r.outcome.case === "task" ? r.outcome.value.id : ""));
    if (ids.includes("")) throw new BenchVerificationError("fair_keys: a task of key B was refused");
    const timer = setTimeout(() => allBStarted(), timeoutMs);
    await bDone;
    clearTimeout(timer);
    if (startedB.size < SMALL_KEY_TASKS) throw new BenchVerificationError(`fair_keys: only ${startedB.size} of key B's ${SMALL_KEY_TASKS} tasks started within ${timeoutMs} ms`);
    const toUs = monotonicUs();
    const bWindowS = (Math.max(...startedB.values()) - ackedAt) / 1000;
    const aDuringB = startedA - aBeforeB;
    const delays = summarize(ids.map((id) => Math.max(0, startedB.get(id)! - ackedAt)));
    const info = (await queues.getQueue({ name: queue })).queue;
    return {
      metrics: {
        burst_tasks: burst,
        burst_submit_s: burstMs / 1000,
        a_started_before_b: aBeforeB,
        a_starts_per_s_while_b_ran: bWindowS > 0 ? aDuringB / bWindowS : 0,
        a_waiting_when_b_ran: Number(info?.counts?.queued ?? 0n),
        b_start_delay_p50_ms: delays.p50,
        b_start_delay_max_ms: delays.max,
      },
      windowUs: [fromUs, toUs],
      notes: [
        `fair_keys: key A submits ${burst} tasks (SubmitTasks of ${BATCH}, ${IN_FLIGHT} in flight), then key B ${SMALL_KEY_TASKS} in one call; ` +
          `max_concurrency_per_key ${PER_KEY}, one worker × ${options.concurrency}, ${WORK_MS} ms handlers; ` +
          "B's start delay = SubmitTasks acknowledged → handler start (one clock)",
      ],
    };
  } finally {
    await worker.stop({ timeoutMs: 2_000 }).catch(() => undefined);
    await queues.pauseQueue({ name: queue, reason: "fair_keys bench done" }).catch(() => undefined);
  }
};
