import { allReady, ChildHandle } from "../child-handle.js";
import type {
  BullmqConfig,
  ConsumerReport,
  ProducerConfig,
  ProducerReport,
  RawStreamsConfig,
  WorkerConfig,
} from "../children/messages.js";
import { BenchTimeoutError, ChildProcessError } from "../errors.js";
import { split, type ScenarioContext } from "./context.js";

/** Deadline for child processes to connect and say ready. */
export const READY_TIMEOUT_MS = 60_000;

/** Starts the worker processes (SDK) on `queue` (or queues); with `workMs`, each task sleeps a random time in it. */
export function startWorkers(
  context: ScenarioContext,
  queue: string | readonly string[],
  record = false,
  typesOf?: (index: number) => string[],
  workMs?: [number, number],
): ChildHandle[] {
  const { options, stack } = context;
  return Array.from({ length: options.workers }, (_, i) => {
    const config: WorkerConfig = {
      address: stack.server.grpcAddress,
      ...queueFields(queue),
      concurrency: options.concurrency,
      record,
      logLevel: options.logLevel,
      ...(typesOf ? { types: typesOf(i) } : {}),
      ...(workMs && workMs[1] > 0 ? { workMs } : {}),
    };
    return new ChildHandle(`worker#${i + 1}`, "worker-process.ts", config);
  });
}

/**
 * Starts producer processes sharing `total` tasks; `base` holds everything but address, queue
 * and count. With several queues, each SubmitTasks call goes to the next one (batch mode).
 */
export function startProducers(
  context: ScenarioContext,
  queue: string | readonly string[],
  total: number,
  processes: number,
  base: Omit<ProducerConfig, "address" | "queue" | "count" | "unaryClient">,
): ChildHandle[] {
  return split(total, processes).map(
    (count, i) =>
      new ChildHandle(`producer#${i + 1}`, "producer.ts", {
        ...base,
        unaryClient: context.options.unaryClient,
        address: context.stack.server.grpcAddress,
        ...queueFields(queue),
        count,
      } satisfies ProducerConfig),
  );
}

/** A child's `queue` and, for several, `queues`. */
function queueFields(queue: string | readonly string[]): { queue: string; queues?: string[] } {
  if (typeof queue === "string") return { queue };
  return queue.length === 1 ? { queue: queue[0]! } : { queue: queue[0]!, queues: [...queue] };
}

/** Starts the processes holding `streams` raw worker streams. */
export function startStreamHolders(context: ScenarioContext, queue: string, streams: number): ChildHandle[] {
  const { options, stack } = context;
  return split(streams, options.streamProcesses).map(
    (count, i) =>
      new ChildHandle(`streams#${i + 1}`, "raw-streams.ts", {
        address: stack.server.grpcAddress,
        queue,
        streams: count,
        streamsPerConnection: options.streamsPerConnection,
        credits: options.streamCredits,
        label: `bench-raw-${i + 1}`,
      } satisfies RawStreamsConfig),
  );
}

/** Starts BullMQ processes of one role; producers share `total` jobs. */
export function startBullmq(
  context: ScenarioContext,
  role: BullmqConfig["role"],
  queue: string,
  total: number,
): ChildHandle[] {
  const { options, stack } = context;
  const counts = role === "producer" ? split(total, options.producers) : Array.from({ length: options.workers }, () => 0);
  return counts.map(
    (count, i) =>
      new ChildHandle(`bullmq-${role}#${i + 1}`, "bullmq-runner.ts", {
        role,
        redisUrl: stack.redisUrl,
        queue,
        count,
        batchSize: options.batchSize,
        inFlight: options.batchesInFlight,
        concurrency: options.concurrency,
      } satisfies BullmqConfig),
  );
}

/** Totals of completions across consumer processes. */
export interface Completion {
  completed: number;
  failed: number;
  /** First and last completion, epoch ms. */
  firstAt: number;
  lastAt: number;
}

/**
 * Sums the running totals that consumer processes report, and resolves waiters once the sum
 * reaches their target. A consumer that fails rejects every waiter.
 */
export class CompletionTally {
  private readonly latest = new Map<ChildHandle, Completion>();
  /** Per consumer, each report's (last completion time, completed so far), in order. */
  private readonly reports = new Map<ChildHandle, [number, number][]>();
  private readonly waiters = new Set<{ check: () => void; fail: (error: Error) => void }>();

  constructor(consumers: readonly ChildHandle[]) {
    for (const consumer of consumers) {
      consumer.on("progress", (m) => {
        this.latest.set(consumer, { completed: m.completed, failed: m.failed, firstAt: m.firstAt, lastAt: m.lastAt });
        const reports = this.reports.get(consumer) ?? [];
        reports.push([m.lastAt, m.completed]);
        this.reports.set(consumer, reports);
        for (const waiter of [...this.waiters]) waiter.check();
      });
      void consumer.exited.then((code) => {
        const error = new ChildProcessError(`${consumer.name} exited (${code}) while tasks were outstanding`);
        for (const waiter of [...this.waiters]) waiter.fail(error);
      });
    }
  }

  /** The sum so far. */
  total(): Completion {
    const all = [...this.latest.values()];
    return {
      completed: all.reduce((n, c) => n + c.completed, 0),
      failed: all.reduce((n, c) => n + c.failed, 0),
      firstAt: Math.min(...all.map((c) => c.firstAt)),
      lastAt: Math.max(0, ...all.map((c) => c.lastAt)),
    };
  }

  /**
   * Completions known to have happened by `atMs` (same clock as the reports' times): per
   * consumer, the count of its last report whose last completion is not later. Reports come
   * every few milliseconds, so this may undercount by one report's worth.
   */
  completedBy(atMs: number): number {
    let total = 0;
    for (const reports of this.reports.values()) {
      let count = 0;
      for (const [lastAt, completed] of reports) if (lastAt <= atMs) count = completed;
      total += count;
    }
    return total;
  }

  /** Resolves once `target` completions are counted; rejects after `timeoutMs`. */
  waitFor(target: number, timeoutMs: number): Promise<Completion> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new BenchTimeoutError(`${target} completions (have ${this.total().completed})`, timeoutMs));
      }, timeoutMs);
      const waiter = {
        check: () => {
          const total = this.total();
          if (total.completed < target) return;
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(total);
        },
        fail: (error: Error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(error);
        },
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }
}

/** Waits for children to be ready (connected, warmed up). */
export function ready(children: readonly ChildHandle[]): Promise<void> {
  return allReady(children, READY_TIMEOUT_MS);
}

/** Tells every producer to go and collects their reports. */
export async function runProducers(producers: readonly ChildHandle[], timeoutMs: number): Promise<ProducerReport[]> {
  const done = producers.map((p) => p.next("done", timeoutMs));
  for (const producer of producers) producer.send({ type: "go" });
  return (await Promise.all(done)).map((m) => m.report);
}

/** Tells every producer configured with a warm-up to go, and collects their warm-up reports. */
export async function warmUp(producers: readonly ChildHandle[], timeoutMs: number): Promise<ProducerReport[]> {
  const warmed = producers.map((p) => p.next("warmed", timeoutMs));
  for (const producer of producers) producer.send({ type: "go" });
  return (await Promise.all(warmed)).map((m) => m.report);
}

/** Asks every consumer for its report. */
export async function collectReports(consumers: readonly ChildHandle[], timeoutMs = 30_000): Promise<ConsumerReport[]> {
  const reports = consumers.map((c) => c.next("report", timeoutMs));
  for (const consumer of consumers) consumer.send({ type: "report" });
  return (await Promise.all(reports)).map((m) => m.report);
}

/** First submit start and last submit end across producer reports. */
export function submitWindow(reports: readonly ProducerReport[]): { firstStartAt: number; lastEndAt: number; submitted: number; errors: number } {
  return {
    firstStartAt: Math.min(...reports.map((r) => r.firstStartAt)),
    lastEndAt: Math.max(...reports.map((r) => r.lastEndAt)),
    submitted: reports.reduce((n, r) => n + r.submitted, 0),
    errors: reports.reduce((n, r) => n + r.errors, 0),
  };
}

/**
 * Tasks run per second while the producers were still submitting, and after they finished:
 * how much the consumers get done while submissions compete with them.
 */
export function runRatesAroundSubmission(
  tally: CompletionTally,
  submitted: { firstStartAt: number; lastEndAt: number },
  total: number,
  lastDoneAt: number,
): { run_while_submitting_per_s: number; run_after_submitting_per_s: number } {
  const whileSubmitting = tally.completedBy(submitted.lastEndAt);
  return {
    run_while_submitting_per_s: whileSubmitting / ((submitted.lastEndAt - submitted.firstStartAt) / 1000),
    run_after_submitting_per_s: (total - whileSubmitting) / Math.max(0.001, (lastDoneAt - submitted.lastEndAt) / 1000),
  };
}
