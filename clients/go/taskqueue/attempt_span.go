package taskqueue

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of the worker's spans.
const tracerName = "taskqueue-worker"

// w3c reads the trace context a task was submitted with (LeasedTask.traceparent/tracestate
// are W3C values whatever propagator the program registered).
var w3c = propagation.TraceContext{}

// startAttemptSpan starts the span of one attempt, "run <type>" (CONSUMER), as a child of the
// trace context the task was submitted with (the server's SubmitTask span, itself a child of
// the producer's span). A child rather than a link, as in the TypeScript and Python SDKs: the
// whole life of a task (submit, each attempt, retries) is then one trace, and a retry is a
// second attempt span under the same parent. It returns ctx unchanged and a nil span for a
// task without a trace context. Spans go to the program's tracer provider
// (otel.SetTracerProvider); without one they record nothing.
func startAttemptSpan(ctx context.Context, task *LeasedTask) (context.Context, trace.Span) {
	if task.traceparent == "" {
		return ctx, nil
	}
	carrier := propagation.MapCarrier{"traceparent": task.traceparent}
	if task.tracestate != "" {
		carrier["tracestate"] = task.tracestate
	}
	parent := w3c.Extract(ctx, carrier)
	return otel.Tracer(tracerName).Start(parent, "run "+task.Type,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "taskqueue"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", task.Queue),
			attribute.String("taskqueue.task.id", task.ID),
			attribute.String("taskqueue.task.type", task.Type),
			attribute.String("taskqueue.queue", task.Queue),
			attribute.Int("taskqueue.attempt", task.Attempt),
			attribute.Int("taskqueue.max_attempts", task.MaxAttempts),
		),
	)
}

// endAttemptSpan records the outcome ("succeeded", "failed", "fatal", "timeout",
// "cancelled", "lost": the names the other SDKs use) and ends the span, if any.
func endAttemptSpan(span trace.Span, outcome TaskOutcome) {
	if span == nil {
		return
	}
	name := string(outcome.Kind)
	var fatal *NonRetryableError
	switch {
	case outcome.Kind == OutcomeTimedOut:
		name = "timeout"
	case outcome.Kind == OutcomeFailed && errors.As(outcome.Err, &fatal):
		name = "fatal"
	}
	span.SetAttributes(attribute.String("taskqueue.outcome", name))
	if outcome.Kind != OutcomeSucceeded {
		message := name
		if outcome.Err != nil {
			span.RecordError(outcome.Err)
			message = outcome.Err.Error()
		}
		span.SetStatus(codes.Error, message)
	}
	span.End()
}
