import type { Logger } from "./logger.js";
import { ResultStatus } from "../gen/taskqueue/v1/worker_service_pb.js";
import { ProtocolError } from "./errors.js";
import type { AckCounts, AckStatus, TypedEmitter, WorkerEvents } from "./events.js";
import type { ResultTracker } from "./result-tracker.js";
import type { ReceivedAck } from "./wire/server-messages.js";
import type { OutgoingResult } from "./wire/task-results.js";

/** Dependencies of {@link applyAcks}. */
export interface ApplyAcksDeps {
  /** The session's results, whose acknowledged entries are settled. */
  results: ResultTracker;
  /** The worker's running totals, updated in place. */
  counts: AckCounts;
  /** Logs STALE and REJECTED verdicts at warn. */
  logger: Logger;
  /** Receives one "ack" event per verdict, and "error" for an unknown status. */
  events: TypedEmitter<WorkerEvents>;
}

/**
 * Applies the server's verdicts on results: settles them, counts them, logs the ones that
 * were not accepted and emits an "ack" event for each.
 */
export function applyAcks(acks: readonly ReceivedAck[], deps: ApplyAcksDeps): void {
  const { results, counts, logger, events } = deps;
  for (const ack of acks) {
    results.acknowledge(ack.taskId, ack.leaseToken);
    const status = ackStatus(ack.status);
    if (status === undefined) {
      const error = new ProtocolError(`ack with status ${ack.status} for task ${ack.taskId}`);
      logger.error({ err: error }, "worker protocol violation");
      events.emit("error", error);
      continue;
    }
    counts[status] += 1;
    if (status !== "accepted") {
      logger.warn({ taskId: ack.taskId, leaseToken: ack.leaseToken, status, reason: ack.message }, "result not accepted");
    }
    if (!events.hasListeners("ack")) continue;
    events.emit("ack", {
      taskId: ack.taskId,
      leaseToken: ack.leaseToken,
      status,
      message: ack.message,
      counts: { accepted: counts.accepted, stale: counts.stale, rejected: counts.rejected },
    });
  }
}

/** Maps a wire status to its SDK name; undefined for UNSPECIFIED or unknown values. */
export function ackStatus(status: ResultStatus): AckStatus | undefined {
  switch (status) {
    case ResultStatus.ACCEPTED:
      return "accepted";
    case ResultStatus.STALE:
      return "stale";
    case ResultStatus.REJECTED:
      return "rejected";
    default:
      return undefined;
  }
}

/**
 * The result sent in place of one the server REJECTED (e.g. an oversize output): a
 * non-retryable failure for the same lease, naming why.
 */
export function rejectedResultReplacement(taskId: string, leaseToken: string, reason: string): OutgoingResult {
  return {
    taskId,
    leaseToken,
    kind: "failure",
    value: { message: `result rejected by the server: ${reason}`.slice(0, 4000), type: "ResultRejected", nonRetryable: true },
  };
}

/**
 * The result sent in place of one too large for any message the server accepts: a
 * non-retryable failure for the same lease, naming the limit (sending it would fail the whole
 * stream, and every task it holds with it).
 */
export function oversizeResultReplacement(taskId: string, leaseToken: string, maxRequestBytes: number): OutgoingResult {
  return {
    taskId,
    leaseToken,
    kind: "failure",
    value: {
      message: `result too large to send: the server accepts messages of at most ${maxRequestBytes} bytes`,
      type: "ResultTooLarge",
      nonRetryable: true,
    },
  };
}
