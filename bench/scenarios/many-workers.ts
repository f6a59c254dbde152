import { stopAll } from "../child-handle.js";
import { BenchVerificationError } from "../errors.js";
import { ProcessMeter } from "../process-meter.js";
import { sampleProcess } from "../probes.js";
import { jainIndex, summarize } from "../stats.js";
import { deadlineMs, monotonicUs, uniqueQueue, type Scenario } from "./context.js";
import { collectReports, CompletionTally, ready, runProducers, startProducers, startStreamHolders, submitWindow } from "./fleet.js";

const MIB = 1024 * 1024;

/**
 * many_workers: `--streams` WorkerService streams over the raw protocol, held by a few
 * processes, each granting `--stream-credits` and completing what it gets at once. Measures
 * the server's RSS and CPU with the streams idle, then busy with `--stream-tasks` tasks
 * submitted in batches, and how evenly the tasks spread over the streams.
 */
export const manyWorkers: Scenario = async (context) => {
  const { options, stack } = context;
  const pid = stack.server.pid;
  const queue = uniqueQueue("many");
  const tasks = options.streamTasks;
  const timeoutMs = deadlineMs(context, tasks);
  const before = await sampleProcess(pid);
  const holders = startStreamHolders(context, queue, options.streams);
  const producers = startProducers(context, queue, tasks, options.producers, {
    mode: "batch",
    batchSize: options.batchSize,
    inFlight: options.batchesInFlight,
    ratePerS: 0,
    durationMs: 0,
    record: false,
  });
  try {
    await ready([...holders, ...producers]);
    const idleMeter = new ProcessMeter(pid);
    await idleMeter.start();
    await new Promise((resolve) => setTimeout(resolve, options.idleS * 1000)); // the idle measuring window
    const idle = await idleMeter.stop();

    const tally = new CompletionTally(holders);
    const busyMeter = new ProcessMeter(pid);
    await busyMeter.start();
    const fromUs = monotonicUs();
    const submitted = submitWindow(await runProducers(producers, timeoutMs));
    const done = await tally.waitFor(tasks, timeoutMs);
    const busy = await busyMeter.stop();
    const toUs = monotonicUs();
    const perStream = (await collectReports(holders)).flatMap((r) => r.perStream);
    if (perStream.length !== options.streams) {
      throw new BenchVerificationError(`many_workers: ${perStream.length} of ${options.streams} streams reported`);
    }
    const spread = summarize(perStream);
    const seconds = (done.lastAt - submitted.firstStartAt) / 1000;
    return {
      metrics: {
        streams: options.streams,
        rss_before_mb: before.rssBytes / MIB,
        idle_rss_mb: idle.endRssMb,
        idle_rss_delta_mb: idle.endRssMb - before.rssBytes / MIB,
        idle_cpu_pct: idle.cpuPct,
        busy_tasks: tasks,
        busy_tasks_per_s: tasks / seconds,
        busy_cpu_pct: busy.cpuPct,
        busy_peak_rss_mb: busy.peakRssMb,
        per_stream_min: spread.min,
        per_stream_max: spread.max,
        per_stream_mean: spread.mean,
        per_stream_stddev: spread.stddev,
        streams_without_tasks: perStream.filter((n) => n === 0).length,
        jain_fairness: jainIndex(perStream),
      },
      windowUs: [fromUs, toUs],
      notes: [
        `many_workers: ${options.streams} streams in ${options.streamProcesses} processes, ${options.streamsPerConnection} per HTTP/2 connection, ` +
          `${options.streamCredits} credits each; idle window ${options.idleS} s; Jain index 1 = perfectly even`,
      ],
    };
  } finally {
    await stopAll([...producers, ...holders]);
  }
};
