import { SpanKind, trace } from "@opentelemetry/api";
import type { TraceContext } from "../engine/task-records.js";
import type { CommittedResults } from "../engine/result-recorder.js";
import type { LeasedRecord, LeaseEnd } from "../redis/queue-store.js";
import { TRACER } from "./dispatch-spans.js";
import { sampledParent } from "./trace-context.js";

/** Entries past which the memo is emptied (only leases ended by other servers are left behind). */
const MAX_ENTRIES = 1_000_000;

/**
 * Records the commit of each traced attempt's result as a short `commit result` span in the
 * task's trace, a child of the submit's span (a sibling of the attempt and dispatch spans):
 * from the moment its batch was taken up to the end of the group commit, with a `fenced` event
 * when Redis ended the lease, and the batch's size. Lease ends from Redis carry no trace
 * context, so this remembers the context of each sampled task leased here from its delivery
 * to its lease end. Created only when tracing is on: with tracing off nothing is remembered
 * and the result path makes no call here.
 */
export class ResultCommitSpans {
  private readonly traces = new Map<string, TraceContext>();

  /** Notes the trace context of the sampled tasks among `tasks`, just leased here. */
  leased(tasks: readonly LeasedRecord[]): void {
    for (const t of tasks) {
      if (!t.trace || !sampledParent(t.trace)) continue;
      if (this.traces.size >= MAX_ENTRIES) this.traces.clear();
      this.traces.set(t.id, t.trace);
    }
  }

  /** Forgets tasks whose lease ended without a result recorded here (expired, lost, cancelled). */
  ended(ends: readonly LeaseEnd[]): void {
    if (this.traces.size === 0) return;
    for (const end of ends) this.traces.delete(end.id);
  }

  /** Records a span per accepted result of a committed batch whose task is remembered. */
  committed(batch: CommittedResults): void {
    if (this.traces.size === 0) return;
    const tracer = trace.getTracer(TRACER);
    for (const end of batch.accepted) {
      const traced = this.traces.get(end.id);
      if (!traced) continue;
      this.traces.delete(end.id);
      const span = tracer.startSpan(
        "commit result",
        {
          kind: SpanKind.INTERNAL,
          startTime: batch.startedMs,
          attributes: {
            "taskqueue.task.id": end.id,
            "taskqueue.queue": end.queue,
            "taskqueue.attempt": end.attempt,
            "taskqueue.outcome": end.how,
            "taskqueue.state": end.state,
            "taskqueue.batch.size": batch.size,
          },
        },
        sampledParent(traced),
      );
      span.addEvent("fenced", batch.fencedMs);
      span.end(batch.committedMs);
    }
  }

  /** Tasks remembered now. */
  get size(): number {
    return this.traces.size;
  }
}
