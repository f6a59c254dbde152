"""Tracing with OpenTelemetry: each attempt of a traced task runs in a ``run <type>`` span
continuing the task's trace (async and plain handlers), untraced tasks get none, and calls
carry the active context."""

from __future__ import annotations

import asyncio
import time
import unittest
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from taskqueue_client import NonRetryableError, TaskContext
from taskqueue_client.tracing import outgoing_metadata
from test_worker_protocol import DEADLINE, ScriptedWorkerTestCase, leased

# The process's tracer provider can be set once: every test of this module records here.
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


async def ended_spans(count: int) -> dict[str, Any]:
    """The finished spans by task id, once ``count`` have ended."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        spans = {s.attributes["taskqueue.task.id"]: s for s in exporter.get_finished_spans()}
        if len(spans) >= count:
            return spans
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} spans ended: {exporter.get_finished_spans()}")


class AttemptSpanTest(ScriptedWorkerTestCase):
    def setUp(self) -> None:
        exporter.clear()

    async def test_attempts_run_in_spans_continuing_the_tasks_trace(self) -> None:
        seen: list[str] = []

        async def echo(task: TaskContext) -> Any:
            seen.append(format(trace.get_current_span().get_span_context().trace_id, "032x"))
            return None

        def bad(task: TaskContext) -> Any:  # a plain handler, run in the worker's threads
            seen.append(format(trace.get_current_span().get_span_context().trace_id, "032x"))
            raise NonRetryableError("bad input")

        self.start_worker({"echo": echo, "bad": bad}, concurrency=3)
        ss = await self.stream()
        await ss.welcome(1.0)
        await ss.next("credit")
        traced = leased("a", "echo")
        traced.traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
        traced.tracestate = "k=v"
        fatal = leased("b", "bad")
        fatal.traceparent = traced.traceparent
        fatal.attempt = 2
        unknown = leased("c", "nope")
        unknown.traceparent = traced.traceparent
        with self.assertLogs("taskqueue_client.worker", level="DEBUG") as logs:
            await ss.assign(traced, fatal, unknown)
            spans = await ended_spans(3)
        self.assertEqual(seen, [TRACE_ID, TRACE_ID])
        a, b = spans["a"], spans["b"]
        self.assertEqual((a.name, a.kind), ("run echo", SpanKind.CONSUMER))
        self.assertEqual(format(a.context.trace_id, "032x"), TRACE_ID)
        self.assertEqual(format(a.parent.span_id, "016x"), PARENT_ID)
        self.assertEqual(a.parent.trace_state.get("k"), "v")
        self.assertEqual(
            {k: a.attributes[k] for k in ("taskqueue.queue", "taskqueue.task.type", "taskqueue.attempt", "taskqueue.outcome")},
            {"taskqueue.queue": "q", "taskqueue.task.type": "echo", "taskqueue.attempt": 1, "taskqueue.outcome": "succeeded"},
        )
        self.assertEqual(a.status.status_code, StatusCode.UNSET)
        self.assertEqual((b.attributes["taskqueue.outcome"], b.attributes["taskqueue.attempt"]), ("fatal", 2))
        self.assertEqual(b.status.status_code, StatusCode.ERROR)
        self.assertEqual([e.name for e in b.events], ["exception"])
        # The worker's line about the failed attempt names its trace and span.
        self.assertTrue(any(f"[trace {TRACE_ID} span {b.context.span_id:016x}]" in line for line in logs.output), logs.output)
                # A type without a handler fails inside its span too.
        self.assertEqual((spans["c"].name, spans["c"].attributes["taskqueue.outcome"]), ("run nope", "failed"))

    async def test_untraced_tasks_get_no_span(self) -> None:
        seen: list[bool] = []

        async def echo(task: TaskContext) -> Any:
            seen.append(trace.get_current_span().get_span_context().is_valid)
            return None

        self.start_worker({"echo": echo})
        ss = await self.stream()
        await ss.welcome(1.0)
        await ss.next("credit")
        await ss.assign(leased("a", "echo"))
        await ss.next("the result")
        self.assertEqual(seen, [False])
        self.assertEqual(exporter.get_finished_spans(), ())


class OutgoingMetadataTest(unittest.TestCase):
    def test_calls_carry_the_active_context(self) -> None:
        self.assertIsNone(outgoing_metadata())
        with trace.get_tracer("test").start_as_current_span("produce") as span:
            context = span.get_span_context()
            metadata = dict(outgoing_metadata() or ())
        # Flags: sampled (01), and the SDK may add W3C level 2's random trace id flag (02).
        self.assertRegex(metadata["traceparent"], f"^00-{context.trace_id:032x}-{context.span_id:016x}-0[13]$")


if __name__ == "__main__":
    unittest.main()
