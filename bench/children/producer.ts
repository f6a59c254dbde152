/**
 * A taskqueue producer process: submits no-op tasks with SubmitTasks (batch), SubmitTask with
 * a fixed number of calls in flight (unary), or SubmitTask at a fixed rate (rate), then reports
 * what it did. SubmitTasks calls go through the TypeScript client (`clients/ts`); SubmitTask
 * calls too with `unaryClient: "ts"`, or else through {@link RawUnarySubmitter}. A rate
 * producer may warm up first (`warmupMs`), then waits for a second `go`.
 * Configuration: one JSON {@link ProducerConfig} argument.
 */
import { createTaskClient, type TaskClient, type TaskSpec } from "../../clients/ts/index.js";
import { benchPayload, epochNow, goSignals, newReport, openLoop, readChildConfig, runChild, sendToParent, submitOne } from "./child-runtime.js";
import { NOOP_TYPE, type ProducerConfig, type ProducerReport } from "./messages.js";
import { RawUnarySubmitter } from "./raw-unary-submitter.js";

/** Submits one no-op task; resolves with its id. */
type SubmitOne = () => Promise<string>;

runChild(async () => {
  const config = readChildConfig<ProducerConfig>();
  const client = createTaskClient({ address: config.address, timeoutMs: 0 });
  // Warm up: open the HTTP/2 connection before the clock starts.
  await client.listTasks({ queue: config.queue, pageSize: 1 });
  const gos = goSignals();
  await sendToParent({ type: "ready", pid: process.pid });
  await gos.next();
  const makesUnaryCalls = config.mode === "unary" || (config.mode === "rate" && config.batchSize <= 1);
  // The raw caller sends one fixed request without a payload.
  const raw = makesUnaryCalls && config.unaryClient === "raw" && !config.payloadBytes ? new RawUnarySubmitter(config.address, config.queue, NOOP_TYPE) : undefined;
  await raw?.connected();
  const submitOneTask: SubmitOne = raw
    ? () => raw.submitTask()
    : async () => (await client.submitTask(request(config))).task.id;
  if (config.mode === "rate" && config.warmupMs) {
    const warmup = newReport();
    await submitAtRate(client, submitOneTask, { ...config, durationMs: config.warmupMs, record: false }, warmup);
    await sendToParent({ type: "warmed", report: warmup });
    await gos.next();
  }
  const report = newReport();
  if (config.mode === "batch") await submitBatches(client, config, report);
  else if (config.mode === "unary") await submitUnary(submitOneTask, config, report);
  else await submitAtRate(client, submitOneTask, config, report);
  // Stays alive until told to stop, so that its CPU time is counted to the end of the run.
  await sendToParent({ type: "done", report });
});

let submittedSoFar = 0;

/** The next task: of the configured types in rotation, with the configured payload. */
function request(config: ProducerConfig, queue = config.queue): TaskSpec {
  const types = config.types ?? [NOOP_TYPE];
  const payload = benchPayload(config.payloadBytes ?? 0);
  return { queue, type: types[submittedSoFar++ % types.length]!, ...(payload ? { payload } : {}) };
}

/** Runs `calls` jobs with at most `inFlight` at a time. */
async function pool(calls: number, inFlight: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < calls) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, calls) }, lane));
}

async function submitBatches(client: TaskClient, config: ProducerConfig, report: ProducerReport): Promise<void> {
  const batches = Math.ceil(config.count / config.batchSize);
  const queues = config.queues ?? [config.queue];
  await pool(batches, config.inFlight, async (index) => {
    const size = Math.min(config.batchSize, config.count - index * config.batchSize);
    const queue = queues[index % queues.length]!;
    const tasks = Array.from({ length: size }, () => request(config, queue));
    const startAt = epochNow();
    report.firstStartAt = Math.min(report.firstStartAt, startAt);
    const items = await client.submitTasks(tasks, { view: "basic" });
    const endAt = epochNow();
    report.lastEndAt = Math.max(report.lastEndAt, endAt);
    for (const item of items) {
      if (item.error) report.errors++;
      else report.submitted++;
    }
    if (config.record) report.latenciesMs.push(endAt - startAt);
  });
}

async function submitUnary(submitOneTask: SubmitOne, config: ProducerConfig, report: ProducerReport): Promise<void> {
  await pool(config.count, config.inFlight, () => submitOne(submitOneTask, config.record, report));
}

/**
 * Open-loop submission: every tick sends what the schedule says is due by now, so a slow
 * call does not delay the next ones (at most `inFlight` outstanding; extra ones are skipped
 * and counted as errors). With `batchSize` > 1, each call is a SubmitTasks of that many tasks
 * and calls go out at `ratePerS / batchSize` per second.
 */
async function submitAtRate(client: TaskClient, submitOneTask: SubmitOne, config: ProducerConfig, report: ProducerReport): Promise<void> {
  const total = Math.round((config.ratePerS * config.durationMs) / 1000);
  const perCall = Math.max(1, config.batchSize);
  const calls = Math.ceil(total / perCall);
  const callsPerS = config.ratePerS / perCall;
  const call = (index: number) =>
    perCall === 1
      ? submitOne(submitOneTask, config.record, report)
      : submitTimed(client, config, report, Math.min(perCall, total - index * perCall));
  await openLoop(callsPerS, calls, config.inFlight, call, () => (report.errors += perCall));
}

/** One SubmitTasks call of `size` tasks, each task's submit time recorded. */
async function submitTimed(client: TaskClient, config: ProducerConfig, report: ProducerReport, size: number): Promise<void> {
  const startAt = epochNow();
  report.firstStartAt = Math.min(report.firstStartAt, startAt);
  try {
    const items = await client.submitTasks(Array.from({ length: size }, () => request(config)), { view: "basic" });
    const endAt = epochNow();
    report.lastEndAt = Math.max(report.lastEndAt, endAt);
    for (const item of items) {
      if (item.error) {
        report.errors++;
        continue;
      }
      report.submitted++;
      if (config.record) report.submits.push([item.task.id, startAt]);
    }
    if (config.record) report.latenciesMs.push(endAt - startAt);
  } catch {
    report.errors += size;
  }
}
