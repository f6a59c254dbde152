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

/** The orchestrator's `go` commands, taken one at a time; `stop` calls `onStop` (default: exits). */
export function goSignals(onStop: () => void = () => process.exit(0)): { next: () => Promise<void> } {
  let pending = 0;
  let waiting: (() => void) | undefined;
  onParentMessage((message) => {
    if (message.type === "stop") onStop();
    if (message.type !== "go") return;
    if (waiting) {
      waiting();
      waiting = undefined;
    } else pending++;
  });
  return {
    next: () => {
      if (pending > 0) {
        pending--;
        return Promise.resolve();
      }
      return new Promise((resolve) => (waiting = resolve));
    },
  };
}

/** An empty producer report. */
export function newReport(): ProducerReport {
  return { submitted: 0, errors: 0, firstStartAt: Number.POSITIVE_INFINITY, lastEndAt: 0, latenciesMs: [], submits: [] };
}

/**
 * Makes one submit call of `size` tasks through `submit` (which resolves with their ids) into
 * `report`: the call's window, and with `record` its latency and each task's submit time.
 */
export async function submitCall(submit: () => Promise<string[]>, size: number, record: boolean, report: ProducerReport): Promise<void> {
  const startAt = epochNow();
  report.firstStartAt = Math.min(report.firstStartAt, startAt);
  try {
    const ids = await submit();
    const endAt = epochNow();
    report.lastEndAt = Math.max(report.lastEndAt, endAt);
    report.submitted += ids.length;
    if (record) {
      report.latenciesMs.push(endAt - startAt);
      for (const id of ids) report.submits.push([id, startAt]);
    }
  } catch {
    report.errors += size;
  }
}

/** {@link submitCall} of one task, whose id `submitOneTask` resolves with. */
export function submitOne(submitOneTask: () => Promise<string>, record: boolean, report: ProducerReport): Promise<void> {
  return submitCall(async () => [await submitOneTask()], 1, record, report);
}

/**
 * Open-loop calls: `calls` calls at `callsPerS`, every tick starting what the schedule says is
 * due by now, so a slow call does not delay the next ones. At most `inFlight` are outstanding;
 * a due call that finds them all busy is skipped (`skip`). Resolves once every call has ended.
 */
export async function openLoop(
  callsPerS: number,
  calls: number,
  inFlight: number,
  call: (index: number) => Promise<void>,
  skip: (index: number) => void,
): Promise<void> {
  const startedAt = epochNow();
  const outstanding = new Set<Promise<void>>();
  let scheduled = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(calls, Math.floor(((epochNow() - startedAt) * callsPerS) / 1000) + 1);
      for (; scheduled < due; scheduled++) {
        if (outstanding.size >= inFlight) {
          skip(scheduled);
          continue;
        }
        const started = call(scheduled).finally(() => outstanding.delete(started));
        outstanding.add(started);
      }
      if (scheduled >= calls) resolve();
      // Sleeps until the next call is due (a timer fires no earlier than asked, at ms granularity).
      else setTimeout(tick, Math.max(0, startedAt + (scheduled * 1000) / callsPerS - epochNow()));
    };
    tick();
  });
  await Promise.all([...outstanding]);
}

/** The JSON payload of about `bytes` bytes every system's benchmark tasks carry (`{"data":"xx…"}`). */
export function benchPayload(bytes: number): { data: string } | undefined {
  return bytes > 0 ? { data: "x".repeat(Math.max(0, bytes - 11)) } : undefined;
}

/** A random work time in [min, max] ms. */
export function workTimeMs([min, max]: readonly [number, number]): number {
  return min + Math.random() * (max - min);
}

/** Sleeps a random time in `workMs` (none when absent or [0, 0]). */
export function work(workMs: readonly [number, number] | undefined): Promise<void> | undefined {
  if (!workMs || workMs[1] <= 0) return undefined;
  return new Promise((resolve) => setTimeout(resolve, workTimeMs(workMs)));
}
