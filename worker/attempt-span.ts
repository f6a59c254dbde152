import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from "@opentelemetry/api";
import type { AssignedTask } from "./wire/assignment.js";

/** The tracer name of the worker SDK's spans. */
const TRACER = "taskqueue-worker";

/** How an attempt ended, as its span records it (`taskqueue.outcome`). */
export type AttemptOutcome = "succeeded" | "failed" | "fatal" | "timeout" | "cancelled" | "lost";

/**
 * The span of one attempt, a child of the trace context the task was submitted with (the
 * server's SubmitTask span, itself a child of the producer's span). A child rather than a
 * link: the whole life of a task — submit, each attempt, retries — is then one trace, which
 * is what a user opening the producer's trace wants to see (Temporal and Hatchet do the same);
 * a retry is a second attempt span under the same parent. Made only for tasks that carry a
 * trace context, through `@opentelemetry/api`: without an SDK registered by the program it
 * records nothing.
 */
export class AttemptSpan {
  private ended = false;

  private constructor(
    private readonly span: Span,
    private readonly context: Context,
  ) {}

  /** Starts the span of `task`'s attempt, or returns undefined when the task carries no trace context. */
  static start(task: AssignedTask): AttemptSpan | undefined {
    if (task.traceparent === "") return undefined;
    const carrier: Record<string, string> = { traceparent: task.traceparent };
    if (task.tracestate !== "") carrier.tracestate = task.tracestate;
    const parent = propagation.extract(ROOT_CONTEXT, carrier);
    const span = trace.getTracer(TRACER).startSpan(
      `run ${task.type}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          "messaging.system": "taskqueue",
          "messaging.operation.type": "process",
          "messaging.destination.name": task.queue,
          "taskqueue.task.id": task.taskId,
          "taskqueue.task.type": task.type,
          "taskqueue.queue": task.queue,
          "taskqueue.attempt": task.attempt,
          "taskqueue.max_attempts": task.maxAttempts,
        },
      },
      parent,
    );
    return new AttemptSpan(span, trace.setSpan(parent, span));
  }

  /** Runs `fn` with the span active: the handler's own spans and log lines belong to it. */
  run<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /** Records the outcome and ends the span (once; later calls are ignored). */
  end(outcome: AttemptOutcome, error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.span.setAttribute("taskqueue.outcome", outcome);
    if (outcome !== "succeeded") {
      if (error instanceof Error) this.span.recordException(error);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : outcome });
    }
    this.span.end();
  }
}
