import { UnavailableError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { Dispatcher } from "./dispatcher.js";
import type { DispatchSession } from "./session.js";
import type { ShutdownBudget } from "./shutdown-budget.js";

/** Status message of a worker stream that a drain ended while it still held tasks. */
export const DRAINED_MESSAGE = "server drained; reconnect to another server";

/** Options for {@link drainStreams}. */
export interface StreamDrainOptions {
  dispatcher: Dispatcher;
  budget: ShutdownBudget;
  logger: Logger;
  /** Told to the workers in `drain`. */
  reason: string;
}

/** How the worker streams of a drain ended. */
export interface StreamDrainReport {
  /** Streams ended with status OK (nothing held, every result answered) or by their worker. */
  clean: number;
  /** Streams ended with UNAVAILABLE {@link DRAINED_MESSAGE} at the drain deadline. */
  cut: number;
}

/**
 * The worker side of a shutdown (dispatch already stopped). Tells every stream to drain by
 * the budget's drain deadline and waits until no stream holds a task or the deadline passes.
 * Then it ends every stream from the server side, with its status sent before any connection
 * closes: a stream that holds nothing ends with OK once its results are answered (by the
 * drain deadline at the latest); a stream still holding tasks, or whose results are still
 * being recorded at the deadline, ends with UNAVAILABLE {@link DRAINED_MESSAGE}, and its
 * leases are released (`WORKER_LOST`). Resolves once every stream has closed and released
 * its leases (their ends are then handed to the durable writer), bounded by the budget's
 * write deadline.
 */
export async function drainStreams(options: StreamDrainOptions): Promise<StreamDrainReport> {
  const { dispatcher, budget, logger } = options;
  const deadline = new Date(budget.drainDeadline);
  const told = [...dispatcher.connected.values()];
  for (const session of told) session.drain(deadline, options.reason);
  await dispatcher.whenNothingHeld(Math.max(0, budget.drainDeadline - Date.now()));

  // Streams that said hello since are included: they hold nothing (dispatch has stopped).
  const sessions = new Set<DispatchSession>([...told, ...dispatcher.connected.values()]);
  const cut = new Set<DispatchSession>();
  const closedInTime = new Set<DispatchSession>();
  const endCut = (s: DispatchSession) => {
    cut.add(s);
    return s.end(new UnavailableError(DRAINED_MESSAGE));
  };
  // A stream its worker closed already just finishes releasing (end() resolves when it has).
  const ends = [...sessions].map((s) => (!s.closed && s.held.size > 0 ? endCut(s) : s.end()).then(() => void closedInTime.add(s)));
  // Clean ends wait for their results' acks, which wait for Postgres: at most until the deadline.
  await budget.settlesBy(budget.drainDeadline, Promise.all(ends));
  // Still open at the deadline (results unanswered): cut too. Streams already closing keep their status.
  for (const s of sessions) if (!closedInTime.has(s) && !s.closed) void endCut(s);
  await budget.within("releasing the leases of worker streams", budget.writeDeadline, Promise.all(ends));
  const report = { clean: sessions.size - cut.size, cut: cut.size };
  if (sessions.size > 0) logger.info(report, "worker streams ended");
  return report;
}
