import { stopAll } from "../child-handle.js";
import { BenchVerificationError } from "../errors.js";
import { redisUsedMemory, tasksTableBytes } from "../probes.js";
import { deadlineMs, uniqueQueue, type Scenario, type ScenarioContext } from "./context.js";
import { CompletionTally, ready, runProducers, startProducers, startWorkers, submitWindow } from "./fleet.js";

/**
 * backlog: fills a queue with `--backlog` tasks nobody takes, and reports the storage each
 * queued task costs (Redis used_memory and pg_total_relation_size('tasks') deltas), then
 * compares submit and dispatch rates of `--backlog-probe` tasks on that queue with the same
 * on an empty queue. Leaves the backlog in place (run it last).
 */
export const backlog: Scenario = async (context) => {
  const { options, stack } = context;
  const probe = options.backlogProbe;
  const empty = uniqueQueue("empty");
  const emptySubmit = await submitPhase(context, empty, probe);
  const emptyDispatch = await dispatchPhase(context, empty, probe);

  const full = uniqueQueue("backlog");
  const redisBefore = await redisUsedMemory(stack.redis);
  const pgBefore = await tasksTableBytes(stack.pool);
  const fill = await submitPhase(context, full, options.backlog);
  const redisAfter = await redisUsedMemory(stack.redis);
  const pgAfter = await tasksTableBytes(stack.pool);

  const backlogSubmit = await submitPhase(context, full, probe);
  const backlogDispatch = await dispatchPhase(context, full, probe);
  return {
    metrics: {
      backlog: options.backlog,
      fill_tasks_per_s: fill,
      redis_bytes_per_task: (redisAfter - redisBefore) / options.backlog,
      pg_bytes_per_task: (pgAfter - pgBefore) / options.backlog,
      empty_submit_per_s: emptySubmit,
      backlog_submit_per_s: backlogSubmit,
      submit_ratio: backlogSubmit / emptySubmit,
      empty_dispatch_per_s: emptyDispatch,
      backlog_dispatch_per_s: backlogDispatch,
      dispatch_ratio: backlogDispatch / emptyDispatch,
    },
    notes: [
      `backlog: ${options.backlog} queued tasks; rates over ${probe} tasks (submit: SubmitTasks batches, no workers; ` +
        "dispatch: SDK workers draining, first to last ack); the backlog is left queued",
    ],
  };
};

/** Submits `count` tasks to `queue` (no workers); returns tasks/s. */
async function submitPhase(context: ScenarioContext, queue: string, count: number): Promise<number> {
  const { options } = context;
  const producers = startProducers(context, queue, count, options.producers, {
    mode: "batch",
    batchSize: options.batchSize,
    inFlight: options.batchesInFlight,
    ratePerS: 0,
    durationMs: 0,
    record: false,
  });
  try {
    await ready(producers);
    const window = submitWindow(await runProducers(producers, deadlineMs(context, count)));
    if (window.submitted !== count) throw new BenchVerificationError(`backlog: ${window.submitted} of ${count} tasks submitted`);
    return count / ((window.lastEndAt - window.firstStartAt) / 1000);
  } finally {
    await stopAll(producers);
  }
}

/** Starts workers on `queue` and measures how fast they complete their first `count` tasks. */
async function dispatchPhase(context: ScenarioContext, queue: string, count: number): Promise<number> {
  const workers = startWorkers(context, queue);
  try {
    const tally = new CompletionTally(workers);
    await ready(workers);
    const done = await tally.waitFor(count, deadlineMs(context, count));
    return done.completed / ((done.lastAt - done.firstAt) / 1000);
  } finally {
    await stopAll(workers);
  }
}
