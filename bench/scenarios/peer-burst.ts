import { stopAll, type ChildHandle } from "../child-handle.js";
import { BenchVerificationError } from "../errors.js";
import { deadlineMs, type ScenarioContext, type ScenarioResult } from "./context.js";
import { CompletionTally, ready, runProducers, runRatesAroundSubmission, submitWindow } from "./fleet.js";
import { meterRun } from "./usage.js";

/** One peer system's processes for a burst run, and how to check the run against its store. */
export interface PeerFleet {
  workers: ChildHandle[];
  producers: ChildHandle[];
  /** Checks, once every completion is counted, what the peer's store holds; throws {@link BenchVerificationError}. */
  verify?: (jobs: number) => Promise<void>;
  /** Remark printed under the table. */
  note: string;
}

/**
 * The burst workload (throughput_batch) on a peer queue: `--tasks` no-op jobs added in batches by
 * the producer processes, run by the worker processes; jobs/s from the first add call to the
 * last completion the workers counted (each peer counts a job once its completion is stored),
 * CPU per job by process, then the peer's own check of its store. The taskqueue server is left
 * idle and not metered.
 */
export async function runPeerBurst(context: ScenarioContext, label: string, fleet: PeerFleet): Promise<ScenarioResult> {
  const jobs = context.options.tasks;
  const timeoutMs = deadlineMs(context, jobs);
  const { workers, producers } = fleet;
  try {
    await ready([...workers, ...producers]);
    const tally = new CompletionTally(workers);
    const stopMeters = await meterRun(context.stack, { workers, producers, server: false });
    const submitted = submitWindow(await runProducers(producers, timeoutMs));
    if (submitted.submitted !== jobs) throw new BenchVerificationError(`${label}: ${submitted.submitted} of ${jobs} jobs added`);
    const done = await tally.waitFor(jobs, timeoutMs);
    const usage = await stopMeters(jobs);
    if (done.completed !== jobs) throw new BenchVerificationError(`${label}: ${done.completed} completions counted for ${jobs} jobs`);
    await fleet.verify?.(jobs);
    const seconds = (done.lastAt - submitted.firstStartAt) / 1000;
    return {
      metrics: {
        jobs,
        jobs_per_s: jobs / seconds,
        add_per_s: jobs / ((submitted.lastEndAt - submitted.firstStartAt) / 1000),
        duration_s: seconds,
        ...runRatesAroundSubmission(tally, submitted, jobs, done.lastAt),
        failed: done.failed,
        ...usage,
      },
      notes: [fleet.note],
    };
  } finally {
    await stopAll([...producers, ...workers]);
  }
}
