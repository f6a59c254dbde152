import { create } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService } from "../../gen/taskqueue/v1/cluster_service_pb.js";
import { QueueService } from "../../gen/taskqueue/v1/queue_service_pb.js";
import { SubmitTaskRequestSchema, TaskService, TaskView } from "../../gen/taskqueue/v1/task_service_pb.js";
import { stopAll } from "../child-handle.js";
import { BenchVerificationError } from "../errors.js";
import { sampleProcess } from "../probes.js";
import { summarize } from "../stats.js";
import { deadlineMs, monotonicUs, uniqueQueue, type Scenario, type ScenarioContext } from "./context.js";
import { ready, startStreamHolders } from "./fleet.js";
import { bracketedThroughput } from "./bracketed.js";
import { throughputBatch } from "./throughput.js";

/** Calls of each measured RPC that are not measured (connection set-up, JIT). */
const WARMUP_CALLS = 10;

/** How often a dashboard polls ListQueues in list_queues_polling, per second. */
const POLLS_PER_S = 10;

function clientOf<S extends typeof QueueService | typeof ClusterService | typeof TaskService>(context: ScenarioContext, service: S): Client<S> {
  return createClient(service, createGrpcTransport({ baseUrl: `http://${context.stack.server.grpcAddress}` }));
}

/** Every queue, page after page; returns how many. */
async function listAllQueues(queues: Client<typeof QueueService>): Promise<number> {
  let count = 0;
  let pageToken = "";
  do {
    const page = await queues.listQueues({ pageSize: 1000, pageToken });
    count += page.queues.length;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return count;
}

/**
 * Calls `call` `count` times one after the other (after a warm-up): the latencies in ms, and
 * the server process's CPU time per call in ms (what a poller costs the server: at 10 calls a
 * second, 10 × that per second).
 */
async function timeCalls(
  context: ScenarioContext,
  count: number,
  call: () => Promise<unknown>,
): Promise<{ samples: number[]; serverCpuMsPerCall: number; windowUs: [number, number] }> {
  for (let i = 0; i < WARMUP_CALLS; i++) await call();
  const samples: number[] = [];
  const before = await sampleProcess(context.stack.server.pid);
  const fromUs = monotonicUs();
  for (let i = 0; i < count; i++) {
    const startedAt = performance.now();
    await call();
    samples.push(performance.now() - startedAt);
  }
  const toUs = monotonicUs();
  const after = await sampleProcess(context.stack.server.pid);
  return { samples, serverCpuMsPerCall: ((after.cpuSeconds - before.cpuSeconds) * 1000) / count, windowUs: [fromUs, toUs] };
}

/** Submits `total` tasks nobody takes, spread evenly over `names`, in SubmitTasks batches. */
async function fillQueues(context: ScenarioContext, names: readonly string[], total: number): Promise<number> {
  const tasks = clientOf(context, TaskService);
  const batchSize = context.options.batchSize;
  const batches: Array<{ queue: string; size: number }> = [];
  names.forEach((queue, i) => {
    let left = Math.floor(total / names.length) + (i < total % names.length ? 1 : 0);
    for (; left > 0; left -= batchSize) batches.push({ queue, size: Math.min(batchSize, left) });
  });
  const startedAt = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < batches.length) {
      const { queue, size } = batches[next++]!;
      const request = create(SubmitTaskRequestSchema, { queue, type: "noop" });
      await tasks.submitTasks({ tasks: Array.from({ length: size }, () => request), view: TaskView.BASIC }, { timeoutMs: deadlineMs(context, size) });
    }
  };
  await Promise.all(Array.from({ length: context.options.producers * context.options.batchesInFlight }, lane));
  return total / ((performance.now() - startedAt) / 1000);
}

/** Seconds of each window of {@link pollingCpu} (`--quick`: 2). */
const pollWindowS = (context: ScenarioContext) => (context.options.quick ? 2 : 5);

/**
 * The server's CPU, in percent of one core, while `call` runs 10 times a second (as a polling
 * dashboard calls it) for {@link pollWindowS} s, less its CPU over as long a window idle
 * just before: what the poller alone costs the server.
 */
async function pollingCpu(context: ScenarioContext, call: () => Promise<unknown>): Promise<{ idlePct: number; polledPct: number; costPct: number }> {
  const pid = context.stack.server.pid;
  const windowMs = pollWindowS(context) * 1000;
  const idleFrom = await sampleProcess(pid);
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const idleTo = await sampleProcess(pid);
  const polledFrom = await sampleProcess(pid);
  let due = performance.now();
  const end = due + windowMs;
  while (due < end) {
    await call();
    due += 1000 / POLLS_PER_S;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const polledTo = await sampleProcess(pid);
  const pct = (from: { cpuSeconds: number; at: number }, to: { cpuSeconds: number; at: number }) =>
    ((to.cpuSeconds - from.cpuSeconds) * 100_000) / Math.max(1, to.at - from.at);
  const idlePct = pct(idleFrom, idleTo);
  const polledPct = pct(polledFrom, polledTo);
  return { idlePct, polledPct, costPct: polledPct - idlePct };
}

function latencyMetrics(prefix: string, samples: readonly number[]): Record<string, number> {
  const s = summarize(samples);
  return { [`${prefix}_calls`]: s.count, [`${prefix}_p50_ms`]: s.p50, [`${prefix}_p99_ms`]: s.p99, [`${prefix}_max_ms`]: s.max };
}

/**
 * list_queues: `--list-queues` queues holding `--list-tasks` queued tasks between them (nobody
 * takes them), then `--list-calls` ListQueues calls one after the other (every page, 1000 a
 * page): p50/p99. Leaves the tasks queued (it runs last).
 */
export const listQueues: Scenario = async (context) => {
  const { options } = context;
  const label = uniqueQueue("listq");
  const names = Array.from({ length: options.listQueues }, (_, i) => `${label}-${String(i).padStart(3, "0")}`);
  const fillPerS = await fillQueues(context, names, options.listTasks);
  const queues = clientOf(context, QueueService);
  const listed = await listAllQueues(queues);
  const own = await queues.getQueue({ name: names[0]! });
  const expected = Math.floor(options.listTasks / names.length) + (options.listTasks % names.length > 0 ? 1 : 0);
  if (Number(own.queue!.counts!.queued) !== expected) {
    throw new BenchVerificationError(`list_queues: ${names[0]} shows ${own.queue!.counts!.queued} queued, expected ${expected}`);
  }
  const timed = await timeCalls(context, options.listCalls, () => listAllQueues(queues));
  const polling = await pollingCpu(context, () => listAllQueues(queues));
  return {
    metrics: {
      queues: listed,
      queued_tasks: options.listTasks,
      fill_tasks_per_s: fillPerS,
      ...latencyMetrics("list_queues", timed.samples),
      server_cpu_ms_per_call: timed.serverCpuMsPerCall,
      poll_10_per_s_server_cpu_pct: polling.costPct,
    },
    windowUs: timed.windowUs,
    notes: [
      `list_queues: ${options.listQueues} queues with ${options.listTasks} queued tasks between them (${listed} queues listed in all), ` +
        `${options.listCalls} sequential ListQueues calls after ${WARMUP_CALLS} unmeasured; the tasks are left queued; ` +
        `poll_10_per_s_server_cpu_pct: the server's CPU (% of a core) while ListQueues is called ${POLLS_PER_S}×/s for ${pollWindowS(context)} s, ` +
        `less ${pollWindowS(context)} s idle just before (${polling.polledPct.toFixed(2)} − ${polling.idlePct.toFixed(2)})`,
    ],
  };
};

/** Runs throughput_batch while a client calls ListQueues 10 times a second; its result and the calls' latencies. */
async function throughputWhilePolling(context: ScenarioContext) {
  const queues = clientOf(context, QueueService);
  const samples: number[] = [];
  let polling = true;
  let failures = 0;
  const poller = (async () => {
    let due = performance.now();
    while (polling) {
      const startedAt = performance.now();
      await listAllQueues(queues).then(
        () => samples.push(performance.now() - startedAt),
        () => failures++,
      );
      due += 1000 / POLLS_PER_S;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  try {
    return { result: await throughputBatch(context), samples, failures };
  } finally {
    polling = false;
    await poller;
  }
}

/**
 * list_queues_polling: throughput_batch alone, then while a client calls ListQueues 10 times
 * a second (a polling dashboard), then alone again; reports the change of the polled run
 * against the mean of the two runs alone (which brackets it in time, so warm-up and drift
 * fall on both sides).
 */
export const listQueuesPolling: Scenario = async (context) => {
  const run = await bracketedThroughput(context, () => throughputWhilePolling(context));
  const polled = run.during;
  return {
    metrics: {
      ...run.metrics,
      tasks_per_s_polled: run.tasksPerS,
      poll_failures: polled.failures,
      ...latencyMetrics("polled_list_queues", polled.samples),
    },
    windowUs: polled.result.windowUs,
    notes: [
      `list_queues_polling: throughput_batch of ${context.options.tasks} tasks alone, with ListQueues called ${POLLS_PER_S}×/s ` +
        "(every page), alone again; change_pct = polled vs the mean of the two alone (noise on a shared machine is a few %: use --repeat)",
    ],
  };
};

/**
 * list_workers: `--streams` worker streams connected (raw protocol, a few processes, idle),
 * then `--list-calls` ListWorkers calls one after the other: p50/p99.
 */
export const listWorkers: Scenario = async (context) => {
  const { options: o } = context;
  const queue = uniqueQueue("listw");
  const holders = startStreamHolders(context, queue, o.streams);
  try {
    await ready(holders);
    const cluster = clientOf(context, ClusterService);
    const shown = (await cluster.listWorkers({})).workers.filter((w) => w.queues.includes(queue)).length;
    if (shown !== o.streams) throw new BenchVerificationError(`list_workers: ListWorkers shows ${shown} of ${o.streams} streams`);
    const timed = await timeCalls(context, o.listCalls, () => cluster.listWorkers({}));
    return {
      metrics: { streams: o.streams, ...latencyMetrics("list_workers", timed.samples), server_cpu_ms_per_call: timed.serverCpuMsPerCall },
      windowUs: timed.windowUs,
      notes: [
        `list_workers: ${o.streams} idle streams in ${o.streamProcesses} processes; ${o.listCalls} sequential ListWorkers calls ` +
          `(every session, no filter) after ${WARMUP_CALLS} unmeasured`,
      ],
    };
  } finally {
    await stopAll(holders);
  }
};
