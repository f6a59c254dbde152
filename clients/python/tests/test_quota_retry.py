"""Unit tests of the quota retry: a submit refused with the server's pushback waits, then is
sent again; other refusals and calls are not retried."""

from __future__ import annotations

import time
import unittest
from typing import Any

import grpc

from taskqueue_client import Client, TaskQueueError


def refusal(pushback: str | None) -> grpc.aio.AioRpcError:
    trailer = grpc.aio.Metadata(("grpc-retry-pushback-ms", pushback)) if pushback is not None else grpc.aio.Metadata()
    return grpc.aio.AioRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.aio.Metadata(), trailer, "over the token's submit quota")


class RefusingMethod:
    """A stub method refusing its first `refusals` calls, then answering `answer`."""

    def __init__(self, refusals: int, pushback: str | None, answer: Any = "ok") -> None:
        self.refusals, self.pushback, self.answer, self.calls = refusals, pushback, answer, 0

    async def __call__(self, request: Any, **_: Any) -> Any:
        self.calls += 1
        if self.calls <= self.refusals:
            raise refusal(self.pushback)
        return self.answer


class QuotaRetryTest(unittest.IsolatedAsyncioTestCase):
    async def call(self, client: Client, op: str, method: RefusingMethod) -> Any:
        return await client._call(op, method, object(), None)  # noqa: SLF001

    async def test_waits_the_pushback_then_sends_again(self) -> None:
        client = Client(channel=grpc.aio.insecure_channel("localhost:1"), quota_retry_max_wait=1.0)
        method = RefusingMethod(2, "20")
        started = time.monotonic()
        self.assertEqual(await self.call(client, "SubmitTasks", method), "ok")
        self.assertEqual(method.calls, 3)
        self.assertGreaterEqual(time.monotonic() - started, 0.04)

    async def test_gives_up_past_the_maximum_wait(self) -> None:
        client = Client(channel=grpc.aio.insecure_channel("localhost:1"), quota_retry_max_wait=0.05)
        method = RefusingMethod(10, "40")
        with self.assertRaises(TaskQueueError):
            await self.call(client, "SubmitTask", method)
        self.assertEqual(method.calls, 2)

    async def test_other_refusals_and_calls_are_not_retried(self) -> None:
        client = Client(channel=grpc.aio.insecure_channel("localhost:1"))
        payload_cap = RefusingMethod(1, None)
        with self.assertRaises(TaskQueueError):
            await self.call(client, "SubmitTask", payload_cap)
        self.assertEqual(payload_cap.calls, 1)
        cancel = RefusingMethod(1, "10")
        with self.assertRaises(TaskQueueError):
            await self.call(client, "CancelTask", cancel)
        self.assertEqual(cancel.calls, 1)


if __name__ == "__main__":
    unittest.main()
