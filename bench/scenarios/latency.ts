import { stopAll, type ChildHandle } from "../child-handle.js";
import { BenchVerificationError } from "../errors.js";
import type { CompiledBenchOptions } from "../options.js";
import { summarize } from "../stats.js";
import { deadlineMs, monotonicUs, uniqueQueue, type Scenario, type ScenarioContext, type ScenarioResult } from "./context.js";
import { collectReports, CompletionTally, ready, runProducers, startProducers, startWorkers, submitWindow, warmUp } from "./fleet.js";
import { meterRun } from "./usage.js";

/**
 * Outstanding tasks the rate producer allows before it counts a call as skipped: 2,000 unary
 * calls, or 2,000 / `--rate-batch` batch calls (a producer falling behind holds a bounded
 * amount of work, whatever the batch size).
 */
export const RATE_MAX_TASKS_IN_FLIGHT = 2_000;

/** Outstanding calls of the rate producer, from {@link RATE_MAX_TASKS_IN_FLIGHT}. */
function rateMaxCallsInFlight(options: CompiledBenchOptions): number {
  return Math.max(1, Math.floor(RATE_MAX_TASKS_IN_FLIGHT / Math.max(1, options.rateBatch)));
}

/**
 * latency: one producer submits at a fixed rate (`--rate` per second for `--duration-s`) with
 * unary SubmitTask, or SubmitTasks of `--rate-batch` tasks; SDK workers run the tasks. Reports, as p50/p99 in ms:
 * - submit: the SubmitTask call as the client sees it (it returns once committed);
 * - dispatch: the task's created_at (server clock) → the handler receives it (worker clock);
 * - end-to-end: the submit call starts → the worker receives the accepted ack of the result
 *   (the result is committed). One machine, so one clock.
 * A warm-up at the same rate (`--warmup-s`), by the same producer process, runs first and is not
 * measured: it opens the server's Postgres connections and warms the JIT of the server, the
 * workers and the producer, as in a system that has been running.
 */
export const latency: Scenario = async (context) => {
  const { options } = context;
  const queue = uniqueQueue("latency");
  const expected = Math.round(options.rate * options.durationS);
  const workers = startWorkers(context, queue, true, undefined, options.workMs);
  const producers = startProducers(context, queue, expected, 1, {
    mode: "rate",
    batchSize: options.rateBatch,
    inFlight: rateMaxCallsInFlight(options),
    ratePerS: options.rate,
    durationMs: options.durationS * 1000,
    warmupMs: options.warmupS * 1000,
    record: true,
    payloadBytes: options.payloadBytes,
  });
  const result = await measureLatency(context, "latency", workers, producers, true);
  result.metrics = { tasks: result.metrics.tasks!, tasks_per_call: options.rateBatch, ...result.metrics };
  result.notes = [
    `latency: ${options.rate}/s for ${options.durationS} s after ${options.warmupS} s of warm-up, ` +
      `${options.rateBatch === 1 ? `unary SubmitTask (${options.unaryClient} caller)` : `SubmitTasks of ${options.rateBatch}`}, ${options.workers} workers × ${options.concurrency}; ` +
      "dispatch = created_at (to the microsecond) → handler start; e2e = submit call start → accepted ack at the worker" +
      workloadNote(options),
  ];
  return result;
};

/** A durable peer's rate producer settings from the options (`--rate`, `--rate-batch`, …). */
export function peerRateConfig(options: CompiledBenchOptions) {
  return {
    ratePerS: options.rate,
    durationMs: options.durationS * 1000,
    warmupMs: options.warmupS * 1000,
    inFlight: rateMaxCallsInFlight(options),
    batchSize: options.rateBatch,
    payloadBytes: options.payloadBytes,
    record: true,
  };
}

/** The payload and work time of the latency scenarios, when set, for their notes. */
export function workloadNote(options: CompiledBenchOptions): string {
  return (
    (options.payloadBytes > 0 ? `; ${options.payloadBytes}-byte JSON payloads` : "") +
    (options.workMs[1] > 0 ? `; tasks sleep ${options.workMs[0]}–${options.workMs[1]} ms` : "")
  );
}

/**
 * Runs a latency measurement with started `workers` (recording) and one rate `producer` (with
 * a warm-up, recording), and stops them: `--warmup-s` unmeasured, then `--duration-s` measured.
 * Metrics: tasks, skipped calls, achieved rate, submit / dispatch / e2e p50 and p99 (ms), e2e
 * max, and CPU by process (`withServer`: the taskqueue server's too).
 */
export async function measureLatency(
  context: ScenarioContext,
  label: string,
  workers: ChildHandle[],
  producers: ChildHandle[],
  withServer: boolean,
): Promise<ScenarioResult> {
  const { options } = context;
  const timeoutMs = deadlineMs(context, Math.round(options.rate * options.durationS));
  try {
    await ready([...workers, ...producers]);
    const tally = new CompletionTally(workers);
    const warmed = options.warmupS > 0 ? submitWindow(await warmUp(producers, timeoutMs)).submitted : 0;
    await tally.waitFor(warmed, timeoutMs);
    const stopMeters = await meterRun(context.stack, { workers, producers, server: withServer });
    const fromUs = monotonicUs();
    const producerReports = await runProducers(producers, timeoutMs);
    const submitted = submitWindow(producerReports);
    await tally.waitFor(warmed + submitted.submitted, timeoutMs);
    const usage = await stopMeters(submitted.submitted);
    const toUs = monotonicUs();
    const consumerReports = await collectReports(workers);
    const submitStart = new Map<string, number>();
    for (const report of producerReports) for (const [id, at] of report.submits) submitStart.set(id, at);
    const endToEnd: number[] = [];
    for (const report of consumerReports) {
      for (const [id, at] of report.acks) {
        const start = submitStart.get(id);
        if (start !== undefined) endToEnd.push(at - start);
      }
    }
    if (endToEnd.length !== submitted.submitted) {
      throw new BenchVerificationError(`${label}: matched ${endToEnd.length} of ${submitted.submitted} submitted tasks to their acks`);
    }
    const submit = summarize(producerReports.flatMap((r) => r.latenciesMs));
    const dispatch = summarize(
      consumerReports.flatMap((r) => r.dispatches.filter(([id]) => submitStart.has(id)).map(([, ms]) => ms)),
    );
    const e2e = summarize(endToEnd);
    return {
      metrics: {
        tasks: submitted.submitted,
        skipped: submitted.errors,
        achieved_rate_per_s: submitted.submitted / ((submitted.lastEndAt - submitted.firstStartAt) / 1000),
        submit_p50_ms: submit.p50,
        submit_p99_ms: submit.p99,
        dispatch_p50_ms: dispatch.p50,
        dispatch_p99_ms: dispatch.p99,
        e2e_p50_ms: e2e.p50,
        e2e_p99_ms: e2e.p99,
        e2e_max_ms: e2e.max,
        ...usage,
      },
      windowUs: [fromUs, toUs],
    };
  } finally {
    await stopAll([...producers, ...workers]);
  }
}
