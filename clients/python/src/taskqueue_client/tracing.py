"""OpenTelemetry tracing of the client, through the ``opentelemetry-api`` package when it is
installed (``pip install taskqueue-client[otel]``): calls carry the active context as W3C
``traceparent``/``tracestate`` metadata, and each attempt on the worker runs in a span
continuing the trace its task was submitted with. Without the package, or without an SDK
configured by the program, nothing is recorded or sent."""

from __future__ import annotations

import contextvars
from typing import Any, Optional

try:
    from opentelemetry import context as _context
    from opentelemetry import propagate as _propagate
    from opentelemetry import trace as _trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # pragma: no cover - the package is optional
    _trace = None  # type: ignore[assignment]

#: The instrumentation scope of the worker's spans (as in the Go and TypeScript SDKs).
TRACER = "taskqueue-worker"

_w3c = TraceContextTextMapPropagator() if _trace is not None else None


def outgoing_metadata() -> Optional[tuple[tuple[str, str], ...]]:
    """The active context as call metadata, through the propagator the program set (the API's
    default is W3C trace context and baggage); None when there is nothing to send."""
    if _trace is None:
        return None
    carrier: dict[str, str] = {}
    _propagate.inject(carrier)
    return tuple(carrier.items()) or None


class AttemptSpan:
    """The span of one attempt, ``run <type>`` (CONSUMER), a child of the trace context the task
    was submitted with (the server's SubmitTask span, itself a child of the producer's span). A
    child rather than a link, as in the Go and TypeScript SDKs: the whole life of a task (submit,
    each attempt, retries) is then one trace, a retry a second attempt span under the same
    parent."""

    def __init__(self, span: Any, context: Any) -> None:
        self._span = span
        self._context = context
        self._ended = False

    @staticmethod
    def start(leased: Any) -> Optional["AttemptSpan"]:
        """Starts the span of ``leased``'s attempt; None for a task without a trace context or
        without the OpenTelemetry API."""
        if _trace is None or _w3c is None or not leased.traceparent:
            return None
        carrier = {"traceparent": leased.traceparent}
        if leased.tracestate:
            carrier["tracestate"] = leased.tracestate
        parent = _w3c.extract(carrier)
        span = _trace.get_tracer(TRACER).start_span(
            f"run {leased.type}",
            context=parent,
            kind=_trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "taskqueue",
                "messaging.operation.type": "process",
                "messaging.destination.name": leased.queue,
                "taskqueue.task.id": leased.task_id,
                "taskqueue.task.type": leased.type,
                "taskqueue.queue": leased.queue,
                "taskqueue.attempt": leased.attempt,
                "taskqueue.max_attempts": leased.max_attempts,
            },
        )
        return AttemptSpan(span, _trace.set_span_in_context(span, parent))

    def copy_context(self) -> contextvars.Context:
        """A copy of the current context variables with the span active: run the handler in it
        so its own spans and log records belong to the attempt."""
        token = _context.attach(self._context)
        try:
            return contextvars.copy_context()
        finally:
            _context.detach(token)

    def ids(self) -> Optional[tuple[str, str]]:
        """The span's trace id and span id in hex, or None when it carries no valid context."""
        context = self._span.get_span_context()
        if not context.is_valid:
            return None
        return format(context.trace_id, "032x"), format(context.span_id, "016x")

    def end(self, kind: str, error: Optional[BaseException], fatal: bool) -> None:
        """Records the outcome (``succeeded``, ``failed``, ``fatal``, ``timeout``, ``cancelled``,
        ``lost``: the other SDKs' names) and ends the span, once."""
        if self._ended:
            return
        self._ended = True
        outcome = "timeout" if kind == "timed_out" else "fatal" if kind == "failed" and fatal else kind
        self._span.set_attribute("taskqueue.outcome", outcome)
        if kind != "succeeded":
            if error is not None:
                self._span.record_exception(error)
            self._span.set_status(_trace.Status(_trace.StatusCode.ERROR, str(error) if error is not None else outcome))
        self._span.end()
