"""Unit tests of the Python client's pure parts: JSON values, back-off, options, errors, tasks."""

from __future__ import annotations

import unittest

import grpc

from taskqueue_client import (
    NotFoundError,
    OptionsError,
    TaskQueueError,
    TaskSpec,
    WorkerOptions,
)
from taskqueue_client.backoff import Backoff
from taskqueue_client.credits import credits_to_grant
from taskqueue_client.errors import error_for_code_name
from taskqueue_client import requests
from taskqueue_client.gen.taskqueue.v1 import task_pb2
from taskqueue_client.gen.taskqueue.v1 import worker_service_pb2 as pb
from taskqueue_client.payload import from_value, to_value
from taskqueue_client.result_batches import result_batches
from taskqueue_client.task import state_value, task_from_proto


class PayloadTest(unittest.TestCase):
    def test_round_trips_json_values_with_integral_numbers_as_int(self) -> None:
        for value in [None, 0, 1, -2, 2.5, "", "s", True, False, [], {}, {"a": {}}, [[]], {"a": [1, {"b": None}]}]:
            self.assertEqual(from_value(to_value(value)), value)
        self.assertIsInstance(from_value(to_value(3)), int)
        self.assertEqual(to_value({}).WhichOneof("kind"), "struct_value")

    def test_refuses_what_json_cannot_hold(self) -> None:
        for bad in [float("nan"), {1: "x"}, object()]:
            with self.assertRaises((TypeError, ValueError)):
                to_value(bad)


class BackoffTest(unittest.TestCase):
    def test_is_exponential_with_equal_jitter_and_capped(self) -> None:
        low = Backoff(0.1, 1.0, rand=lambda: 0.0)
        self.assertEqual([round(low.next(), 3) for _ in range(6)], [0.05, 0.1, 0.2, 0.4, 0.5, 0.5])
        high = Backoff(0.1, 1.0, rand=lambda: 1.0)
        self.assertEqual(round(high.next(), 3), 0.1)
        high.next()
        high.reset()
        self.assertEqual(high.attempts, 0)


class OptionsTest(unittest.TestCase):
    def test_fills_defaults_and_names_bad_options(self) -> None:
        async def handler(task):  # pragma: no cover - never called
            return None

        compiled = WorkerOptions(target="x:1", queues=["q", "q"], handlers={"t": handler}).compiled()
        self.assertEqual(compiled.queues, ["q"])
        self.assertTrue(compiled.worker_id)
        for field, options in {
            "target": WorkerOptions(target="", queues=["q"], handlers={"t": handler}),
            "queues": WorkerOptions(target="x:1", queues=[], handlers={"t": handler}),
            "handlers": WorkerOptions(target="x:1", queues=["q"], handlers={}),
            "concurrency": WorkerOptions(target="x:1", queues=["q"], handlers={"t": handler}, concurrency=0),
        }.items():
            with self.assertRaises(OptionsError) as caught:
                options.compiled()
            self.assertEqual(caught.exception.field, field)


class ErrorsAndTasksTest(unittest.TestCase):
    def test_maps_status_names_to_typed_errors(self) -> None:
        error = error_for_code_name("NOT_FOUND", "task x not found", op="GetTask")
        self.assertIsInstance(error, NotFoundError)
        self.assertEqual(error.code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(str(error), "GetTask: task x not found")
        self.assertIsInstance(error_for_code_name("DATA_LOSS", "?"), TaskQueueError)

    def test_converts_task_messages(self) -> None:
        message = task_pb2.Task(id="t1", queue="q", type="echo", state=task_pb2.TASK_STATE_SUCCEEDED, attempt=1, concurrency_key="acme")
        message.result.CopyFrom(to_value({"ok": True}))
        message.created_at.FromMilliseconds(1_700_000_000_123)
        task = task_from_proto(message)
        self.assertEqual((task.state, task.result, task.is_terminal), ("SUCCEEDED", {"ok": True}, True))
        self.assertEqual(task.concurrency_key, "acme")
        self.assertEqual(task.to_dict()["created_at"], "2023-11-14T22:13:20.123Z")
        self.assertEqual(state_value("queued"), task_pb2.TASK_STATE_QUEUED)

    def test_builds_submit_requests(self) -> None:
        request = TaskSpec(queue="q", type="t", payload={"a": 1}, max_attempts=2, timeout=1.5, concurrency_key="acme").to_proto()
        self.assertEqual(request.retry_policy.max_attempts, 2)
        self.assertEqual(request.concurrency_key, "acme")
        self.assertEqual(request.timeout.ToMilliseconds(), 1500)
        self.assertEqual(from_value(request.payload), {"a": 1})
        with self.assertRaises(OptionsError):
            TaskSpec(queue="q", type="t", payload={"x": object()}).to_proto()


if __name__ == "__main__":
    unittest.main()


class CreditsTest(unittest.TestCase):
    def test_gathers_freed_slots_while_the_server_holds_the_reserve(self) -> None:
        cases = [
            ((200, 0, 0), 200),  # at the welcome: everything
            ((200, 199, 0), 1),  # the server holds nothing: a freed slot at once
            ((200, 170, 24), 6),  # below the reserve of 25: every free slot
            ((200, 1, 190), 0),  # the server holds plenty: wait
            ((200, 0, 176), 0),  # 24 free, still short of the reserve
            ((200, 0, 175), 25),  # a reserve's worth
            ((16, 0, 15), 0),  # reserve 2
            ((2, 1, 0), 1),  # reserve 1: always at once
            ((4, 4, 0), 0),  # nothing free
        ]
        for args, want in cases:
            self.assertEqual(credits_to_grant(*args), want, args)


class ResultBatchesTest(unittest.TestCase):
    @staticmethod
    def _bytes_result(task_id: str, size: int) -> pb.TaskResult:
        return pb.TaskResult(task_id=task_id, lease_token=f"l-{task_id}", success=pb.TaskSuccess(result_bytes=bytes(size)))

    def test_splits_in_order_within_the_limit_and_fails_a_result_too_large(self) -> None:
        results = [self._bytes_result(i, n) for i, n in [("a", 400), ("b", 400), ("c", 2000), ("d", 100), ("e", 900)]]
        batches, too_large = result_batches(results, 1000)
        for batch in batches:
            self.assertLessEqual(requests.results(batch).ByteSize(), 1000)
        sent = [r for batch in batches for r in batch]
        self.assertEqual([r.task_id for r in sent], ["a", "b", "c", "d", "e"])
        self.assertGreaterEqual(len(batches), 3)
        self.assertEqual(too_large, ["c"])
        replaced = sent[2]
        self.assertEqual((replaced.lease_token, replaced.failure.type, replaced.failure.non_retryable), ("l-c", "ResultTooLarge", True))

    def test_keeps_results_within_the_limit_together(self) -> None:
        results = [self._bytes_result("a", 10), self._bytes_result("b", 10)]
        self.assertEqual(result_batches(results, 4 * 1024 * 1024), ([results], []))
