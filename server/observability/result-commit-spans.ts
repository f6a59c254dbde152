import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import { preciseNowMs } from "../engine/precise-time.js";
import type { TraceContext } from "../engine/task-records.js";
import type { CommittedResults } from "../engine/result-recorder.js";
import type { LeasedRecord, LeaseEnd } from "../redis/queue-store.js";
import { TRACER } from "./dispatch-spans.js";
import { isSampled, sampledParent } from "./trace-context.js";
import { groupByTrace } from "./trace-groups.js";

/** Entries past which the memo is emptied (only leases ended by other servers are left behind). */
const MAX_ENTRIES = 1_000_000;

/** How a lease ended, as the `taskqueue.outcome` of its span: a cancelled task's lease says `cancelled`. */
function outcomeOf(end: LeaseEnd): string {
  return end.state === "CANCELLED" ? "cancelled" : end.how;
}

/** Whether the server ended the lease itself (no result from the worker): expiry, attempt timeout, a lost worker. */
function endedByServer(end: LeaseEnd): boolean {
  return end.how === "expired" || end.how === "timeout" || end.how === "lost";
}

/**
 * Starts span `name` of how `end`'s lease ended, a child of `parent`, with the attributes both
 * kinds share and `more`; `oneTask`: the span is of this task alone (its id and attempt).
 */
function startEndSpan(name: string, end: LeaseEnd, parent: Context | undefined, startTime: number, more: Record<string, string | number>, oneTask = true): Span {
  const attributes: Attributes = {
    "taskqueue.queue": end.queue,
    "taskqueue.outcome": outcomeOf(end),
    "taskqueue.state": end.state,
    ...more,
  };
  if (oneTask) {
    attributes["taskqueue.task.id"] = end.id;
    attributes["taskqueue.attempt"] = end.attempt;
  }
  return trace.getTracer(TRACER).startSpan(name, { kind: SpanKind.INTERNAL, startTime, attributes }, parent);
}

/** Span status messages of the leases the server ended, by how. */
const SERVER_END_MESSAGES: Record<string, string> = {
  expired: "lease expired: no heartbeat or result before its deadline",
  timeout: "attempt timed out",
  lost: "worker lost: its stream closed while it held the lease",
};

/**
 * Records how each traced attempt ended as a span in the task's trace, a child of the submit's
 * span (a sibling of the attempt and dispatch spans):
 * - a worker's result: `commit result`, from the moment its batch was taken up to the end of
 *   the group commit, with a `fenced` event when Redis ended the lease, and the batch's size;
 *   the results of one trace (and outcome) committed together share one span;
 * - a lease the server ended itself (expiry, attempt timeout, a lost worker, or any of these
 *   after a cancel): `end lease`, from the lease's start to the moment the server ended it,
 *   with an error status unless the task was cancelled. A worker that died records no attempt
 *   span of its own, so this is what shows the attempt in the trace.
 *
 * Both carry the task id, queue, attempt, outcome (how the lease ended: succeeded, failed,
 * fatal, expired, timeout, lost or cancelled) and the task's new state. Lease ends from Redis
 * carry no trace context, so this remembers the context of each sampled task leased here
 * from its delivery to its lease end. Created only when tracing is on: with tracing off
 * nothing is remembered and neither the result path nor the reaper makes a call here.
 */
export class ResultCommitSpans {
  private readonly traces = new Map<string, TraceContext>();

  /** Notes the trace context of the sampled tasks among `tasks`, just leased here. */
  leased(tasks: readonly LeasedRecord[]): void {
    for (const t of tasks) {
      if (!isSampled(t.trace)) continue;
      if (this.traces.size >= MAX_ENTRIES) this.traces.clear();
      this.traces.set(t.id, t.trace);
    }
  }

  /**
   * Leases ended (every end, after any result commit): records an `end lease` span for each
   * remembered task whose lease the server ended itself, and forgets every task in `ends`.
   */
  ended(ends: readonly LeaseEnd[]): void {
    if (this.traces.size === 0) return;
    let nowMs = 0;
    for (const end of ends) {
      const traced = this.traces.get(end.id);
      if (!traced) continue;
      this.traces.delete(end.id);
      if (!endedByServer(end)) continue;
      nowMs ||= preciseNowMs();
      const startMs = end.startedMs > 0 && end.startedMs <= nowMs ? end.startedMs : nowMs;
      const span = startEndSpan("end lease", end, sampledParent(traced), startMs, { "taskqueue.worker.id": end.workerId });
      if (end.state !== "CANCELLED") span.setStatus({ code: SpanStatusCode.ERROR, message: SERVER_END_MESSAGES[end.how] });
      span.end(nowMs);
    }
  }

  /**
   * Records a `commit result` span per trace (and outcome) among the accepted results of a
   * committed batch whose tasks are remembered: results of one trace committed together
   * (typically tasks submitted in one call) share one span, with `taskqueue.task.count`, and
   * the task's id and attempt when it holds one task. The recorder then reports the same lease
   * ends to {@link ended}, which forgets them.
   */
  committed(batch: CommittedResults): void {
    if (this.traces.size === 0) return;
    // Forgotten by ended(), told of the same ends right after.
    const groups = groupByTrace(batch.accepted, (end) => this.traces.get(end.id), (end) => `${outcomeOf(end)} ${end.state}`);
    for (const { parent, items } of groups) {
      const first = items[0]!;
      const more: Record<string, string | number> = { "taskqueue.batch.size": batch.size, "taskqueue.task.count": items.length };
      const span = startEndSpan("commit result", first, parent, batch.startedMs, more, items.length === 1);
      span.addEvent("fenced", batch.fencedMs);
      span.end(batch.committedMs);
    }
  }

  /** The trace context of task `id` if it is a sampled task leased here and not yet ended. */
  traceOf(id: string): TraceContext | undefined {
    return this.traces.get(id);
  }

  /** Tasks remembered now. */
  get size(): number {
    return this.traces.size;
  }
}
