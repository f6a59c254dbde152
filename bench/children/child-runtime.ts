import type { ChildMessage, ParentMessage, ProducerReport } from "./messages.js";

/** Epoch milliseconds with sub-millisecond precision, comparable across processes of one machine. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Reads the child's configuration, passed as its one JSON argument. */
export function readChildConfig<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error("missing configuration argument (a JSON object)");
  return JSON.parse(raw) as T;
}

/** Sends a message to the orchestrator; resolves once it is handed to the IPC channel. */
export function sendToParent(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Calls `handler` with each command of the orchestrator. Exits when the orchestrator goes away. */
export function onParentMessage(handler: (message: ParentMessage) => void): void {
  process.on("message", (message) => handler(message as ParentMessage));
  process.on("disconnect", () => process.exit(0));
}

/** Runs `main`, reporting a failure to the orchestrator before exiting 1. */
export function runChild(main: () => Promise<void>): void {
  main().catch(async (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${message}\n`);
    await sendToParent({ type: "error", message });
    process.exit(1);
  });
}

/**
 * Running totals of completed tasks, sent to the orchestrator at most once per
 * `intervalMs` (the time of the last completion is kept exactly).
 */
export class ProgressReporter {
  completed = 0;
  failed = 0;
  firstAt = Number.POSITIVE_INFINITY;
  lastAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 10) {}

  /** Counts `n` completions (or failures) that happened at `at`. */
  add(n: number, at: number, failed = false): void {
    if (failed) this.failed += n;
    else this.completed += n;
    this.firstAt = Math.min(this.firstAt, at);
    this.lastAt = Math.max(this.lastAt, at);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.intervalMs);
    }
  }

  /** Sends the totals now. */
  flush(): Promise<void> {
    return sendToParent({ type: "progress", ...this.totals() });
  }

  /** The totals so far. */
  totals(): { completed: number; failed: number; firstAt: number; lastAt: number } {
    return { completed: this.completed, failed: this.failed, firstAt: this.firstAt, lastAt: this.lastAt };
  }
}

/**
 * Adds `count` jobs through `addBatch` in batches of `batchSize`, `inFlight` calls at once, and
 * reports the calls' window (the batch producers of the peers: BullMQ, graphile-worker).
 */
export async function addInBatches(
  count: number,
  batchSize: number,
  inFlight: number,
  addBatch: (size: number) => Promise<number>,
): Promise<ProducerReport> {
  const report: ProducerReport = { submitted: 0, errors: 0, firstStartAt: Number.POSITIVE_INFINITY, lastEndAt: 0, latenciesMs: [], submits: [] };
  const batches = Math.ceil(count / batchSize);
  let next = 0;
  const lane = async () => {
    while (next < batches) {
      const index = next++;
      const size = Math.min(batchSize, count - index * batchSize);
      const startAt = epochNow();
      report.firstStartAt = Math.min(report.firstStartAt, startAt);
      const added = await addBatch(size);
      report.lastEndAt = Math.max(report.lastEndAt, epochNow());
      report.submitted += added;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, batches) }, lane));
  return report;
}
