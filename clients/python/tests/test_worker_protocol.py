"""The Python worker against a scripted WorkerService: the test plays the server, message by
message (credits, cancel, timeout, rejected results, deaf server, drain, graceful stop)."""

from __future__ import annotations

import asyncio
import time
import unittest
from typing import Any, Optional

import grpc
from google.protobuf import duration_pb2, timestamp_pb2

from taskqueue_client import (
    FailedPreconditionError,
    Hooks,
    InvalidArgumentError,
    OptionsError,
    TaskCancelledError,
    TaskContext,
    Worker,
    WorkerOptions,
)
from taskqueue_client.gen.taskqueue.v1 import worker_service_pb2 as pb
from taskqueue_client.gen.taskqueue.v1 import worker_service_pb2_grpc

DEADLINE = 5.0


class ScriptedStream:
    """One stream accepted by the scripted server, driven by the test."""

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self.context = context
        self.requests: asyncio.Queue[pb.ConnectRequest] = asyncio.Queue()
        self.ended = asyncio.Event()
        #: Set by :meth:`fail` to the status the stream ends with.
        self.failure: asyncio.Future[tuple[grpc.StatusCode, str]] = asyncio.get_running_loop().create_future()

    async def next(self, what: str) -> pb.ConnectRequest:
        """The next request that is not a heartbeat."""
        while True:
            request = await asyncio.wait_for(self.requests.get(), DEADLINE)
            if request.WhichOneof("message") != "heartbeat":
                return request

    def fail(self, code: grpc.StatusCode, details: str) -> None:
        """Ends the stream with an error status, as a server refusing a request does."""
        self.failure.set_result((code, details))

    async def send(self, **message: Any) -> None:
        await self.context.write(pb.ConnectResponse(**message))

    async def welcome(self, heartbeat: float, max_request: int = 0) -> None:
        """Answers the hello; ``max_request`` states the largest request the server accepts."""
        hello = await self.next("hello")
        assert hello.WhichOneof("message") == "hello", hello
        interval = duration_pb2.Duration()
        interval.FromNanoseconds(int(heartbeat * 1e9))
        welcome = pb.Welcome(session_id="s1", heartbeat_interval=interval, lease_duration=interval, max_receive_message_bytes=max_request)
        await self.send(welcome=welcome)

    async def assign(self, *tasks: pb.LeasedTask) -> None:
        await self.send(assignment=pb.TaskAssignment(tasks=list(tasks)))


class ScriptedServer(worker_service_pb2_grpc.WorkerServiceServicer):
    """Hands every accepted stream to the test and keeps it open until the worker ends it."""

    def __init__(self) -> None:
        self.streams: asyncio.Queue[ScriptedStream] = asyncio.Queue()

    async def Connect(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> None:  # noqa: N802
        stream = ScriptedStream(context)
        await self.streams.put(stream)
        reader = asyncio.ensure_future(self._read(stream, context))
        await asyncio.wait([reader, stream.failure], return_when=asyncio.FIRST_COMPLETED)
        if stream.failure.done():
            reader.cancel()
            stream.ended.set()
            code, details = stream.failure.result()
            await context.abort(code, details)

    async def _read(self, stream: ScriptedStream, context: grpc.aio.ServicerContext) -> None:
        while True:
            request = await context.read()
            if request is grpc.aio.EOF:
                break
            await stream.requests.put(request)
        stream.ended.set()


def leased(task_id: str, task_type: str, timeout: Optional[float] = None) -> pb.LeasedTask:
    task = pb.LeasedTask(task_id=task_id, queue="q", type=task_type, attempt=1, max_attempts=3, lease_token=f"tok-{task_id}")
    if timeout is not None:
        task.timeout.FromNanoseconds(int(timeout * 1e9))
    return task


class ScriptedWorkerTestCase(unittest.IsolatedAsyncioTestCase):
    """A scripted server per test, and the worker under test pointed at it."""

    async def asyncSetUp(self) -> None:
        self.scripted = ScriptedServer()
        self.server = grpc.aio.server()
        worker_service_pb2_grpc.add_WorkerServiceServicer_to_server(self.scripted, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{port}"
        await self.server.start()
        self.worker: Optional[Worker] = None
        self.run: Optional[asyncio.Future[None]] = None

    async def asyncTearDown(self) -> None:
        if self.worker is not None and self.run is not None:
            self.worker.stop(timeout=0.5)
            await asyncio.wait_for(self.run, DEADLINE)
        await self.server.stop(None)

    def start_worker(self, handlers: dict[str, Any], concurrency: int = 1, hooks: Optional[Hooks] = None) -> Worker:
        self.worker = Worker(
            WorkerOptions(
                target=self.target,
                queues=["q"],
                handlers=handlers,
                concurrency=concurrency,
                reconnect_initial_delay=0.01,
                reconnect_max_delay=0.02,
                hooks=hooks or Hooks(),
            )
        )
        self.run = asyncio.ensure_future(self.worker.run())
        return self.worker

    async def stream(self) -> ScriptedStream:
        return await asyncio.wait_for(self.scripted.streams.get(), DEADLINE)


class WorkerProtocolTest(ScriptedWorkerTestCase):
    async def test_credits_results_and_cancel(self) -> None:
        release = asyncio.Event()
        seen: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

        async def echo(task: TaskContext) -> Any:
            await release.wait()
            return task.payload

        async def wait(task: TaskContext) -> Any:
            try:
                await asyncio.Event().wait()
            finally:
                seen.set_result(task.stop_reason)

        self.start_worker({"echo": echo, "wait": wait}, concurrency=2)
        ss = await self.stream()
        await ss.welcome(1.0)
        self.assertEqual((await ss.next("credit")).credit.credits, 2)
        await ss.assign(leased("a", "echo"), leased("b", "wait"))
        await ss.send(cancel=pb.CancelCommand(task_id="b", lease_token="tok-b", reason="no"))
        results = (await ss.next("the cancelled task's result")).results.results
        self.assertEqual([(r.task_id, r.failure.type) for r in results], [("b", "CancelledError")])
        self.assertIsInstance(await asyncio.wait_for(seen, DEADLINE), TaskCancelledError)
        self.assertEqual((await ss.next("credit for the freed slot")).credit.credits, 1)
        release.set()
        results = (await ss.next("echo's result")).results.results
        self.assertEqual([(r.task_id, r.WhichOneof("outcome")) for r in results], [("a", "success")])

    async def test_timeout_unknown_type_and_rejected_result(self) -> None:
        async def wait(task: TaskContext) -> Any:
            await asyncio.Event().wait()

        async def big(task: TaskContext) -> Any:
            return "big"

        self.start_worker({"wait": wait, "big": big}, concurrency=3)
        ss = await self.stream()
        await ss.welcome(1.0)
        await ss.next("credit")
        await ss.assign(leased("a", "wait", timeout=0.03), leased("b", "nope"), leased("c", "big"))
        outcomes: dict[str, str] = {}
        while len(outcomes) < 3:
            for r in (await ss.next("three results")).results.results:
                outcomes[r.task_id] = r.failure.type if r.WhichOneof("outcome") == "failure" else "success"
        self.assertEqual(outcomes, {"a": "TimeoutError", "b": "UnknownTaskTypeError", "c": "success"})
        await ss.send(acks=pb.ResultAcks(acks=[pb.ResultAck(task_id="c", lease_token="tok-c", status=pb.RESULT_STATUS_REJECTED)]))
        while True:
            request = await ss.next("the replacement failure")
            if request.WhichOneof("message") == "results":
                failure = request.results.results[0].failure
                self.assertEqual((failure.type, failure.non_retryable), ("ResultRejected", True))
                break

    async def test_splits_results_finishing_together_within_the_servers_limit(self) -> None:
        started = 0
        all_started = asyncio.Event()

        async def big(task: TaskContext) -> Any:
            nonlocal started
            started += 1
            if started == 3:
                all_started.set()
            await all_started.wait()
            return bytes(1200)

        async def huge(task: TaskContext) -> Any:
            return bytes(5000)

        self.start_worker({"big": big, "huge": huge}, concurrency=4)
        ss = await self.stream()
        await ss.welcome(1.0, max_request=3000)
        await ss.next("credit")
        await ss.assign(leased("a", "big"), leased("b", "big"), leased("c", "big"), leased("d", "huge"))
        got: dict[str, pb.TaskResult] = {}
        messages = 0
        while len(got) < 4:
            request = await ss.next("the results")
            if request.WhichOneof("message") != "results":
                continue
            messages += 1
            self.assertLessEqual(request.ByteSize(), 3000)
            for r in request.results.results:
                got[r.task_id] = r
        self.assertGreaterEqual(messages, 2)
        self.assertEqual([len(got[i].success.result_bytes) for i in "abc"], [1200, 1200, 1200])
        self.assertEqual((got["d"].failure.type, got["d"].failure.non_retryable), ("ResultTooLarge", True))

    async def test_leaves_a_deaf_server_for_a_new_connection(self) -> None:
        self.start_worker({"echo": lambda task: None})
        first = await self.stream()
        await first.welcome(0.03)  # then never answers the heartbeats
        second = await self.stream()
        await second.welcome(1.0)
        self.assertEqual((await second.next("credit")).credit.credits, 1)

    async def test_drain_finishes_held_work_then_half_closes(self) -> None:
        release = asyncio.Event()

        async def echo(task: TaskContext) -> Any:
            await release.wait()
            return 1

        # The handler finishes only once the worker has seen the drain.
        self.start_worker({"echo": echo}, hooks=Hooks(on_drain=lambda deadline, reason: release.set()))
        ss = await self.stream()
        await ss.welcome(1.0)
        await ss.next("credit")
        await ss.assign(leased("a", "echo"))
        await ss.send(drain=pb.DrainCommand(reason="bye"))
        self.assertEqual((await ss.next("the held task's result")).WhichOneof("message"), "results")
        await ss.send(acks=pb.ResultAcks(acks=[pb.ResultAck(task_id="a", lease_token="tok-a", status=pb.RESULT_STATUS_ACCEPTED)]))
        await asyncio.wait_for(ss.ended.wait(), DEADLINE)
        while not ss.requests.empty():
            self.assertNotEqual(ss.requests.get_nowait().WhichOneof("message"), "credit")

    async def test_reads_the_drain_deadline_on_the_servers_clock(self) -> None:
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[str] = loop.create_future()

        async def hold(task: TaskContext) -> Any:
            await asyncio.Event().wait()

        def disconnected(reason: str, error: Optional[BaseException]) -> None:
            if not ended.done():
                ended.set_result(reason)

        self.start_worker({"hold": hold}, hooks=Hooks(on_disconnected=disconnected))
        ss = await self.stream()
        await ss.welcome(1.0)
        await ss.next("credit")
        await ss.assign(leased("h", "hold"))
        # The server's clock runs an hour ahead of the worker's; its drain leaves 200 ms.
        server_now = time.time() + 3600
        server_time = timestamp_pb2.Timestamp()
        server_time.FromNanoseconds(int(server_now * 1e9))
        deadline = timestamp_pb2.Timestamp()
        deadline.FromNanoseconds(int((server_now + 0.2) * 1e9))
        await ss.send(heartbeat_ack=pb.HeartbeatAck(server_time=server_time, leases_extended=1))
        await ss.send(drain=pb.DrainCommand(reason="restarting", deadline=deadline))
        # Read on the worker's clock the deadline would be an hour away; on the server's, the
        # worker abandons the stream 200 ms + the close grace later.
        self.assertEqual(await asyncio.wait_for(ended, DEADLINE), "drained")

    async def test_graceful_stop_announces_draining(self) -> None:
        worker = self.start_worker({"echo": lambda task: None})
        ss = await self.stream()
        await ss.welcome(1.0)
        await ss.next("credit")
        worker.stop()
        self.assertEqual((await ss.next("draining")).WhichOneof("message"), "draining")
        await asyncio.wait_for(ss.ended.wait(), DEADLINE)
        assert self.run is not None
        await asyncio.wait_for(self.run, DEADLINE)


if __name__ == "__main__":
    unittest.main()


class HelloRefusalTest(ScriptedWorkerTestCase):
    """A hello the server refuses with INVALID_ARGUMENT or FAILED_PRECONDITION ends ``run()``
    with the server's error; other ends are retried."""

    async def test_a_refused_hello_is_raised_and_not_retried(self) -> None:
        for code, error_class, details in (
            (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgumentError, "hello.capacity: must be between 1 and 5, got 10"),
            (grpc.StatusCode.FAILED_PRECONDITION, FailedPreconditionError, "hello.worker_id: refused"),
        ):
            with self.subTest(code=code):
                self.start_worker({"echo": lambda task: None})
                first = await self.stream()
                self.assertEqual((await first.next("hello")).WhichOneof("message"), "hello")
                first.fail(code, details)
                assert self.run is not None
                with self.assertRaises(error_class) as caught:
                    await asyncio.wait_for(self.run, DEADLINE)
                self.assertEqual(caught.exception.message, details)
                # run() has returned and closed its channel: no second stream was opened.
                self.assertTrue(self.scripted.streams.empty())
                self.worker = self.run = None

    async def test_a_refused_reconnect_is_raised(self) -> None:
        self.start_worker({"echo": lambda task: None})
        first = await self.stream()
        await first.welcome(1.0)
        await first.next("credit")
        first.fail(grpc.StatusCode.UNAVAILABLE, "restarting")
        second = await self.stream()
        await second.next("hello")
        second.fail(grpc.StatusCode.INVALID_ARGUMENT, 'hello.queues[0]: "q" refused')
        assert self.run is not None
        with self.assertRaises(InvalidArgumentError):
            await asyncio.wait_for(self.run, DEADLINE)
        self.worker = self.run = None

    async def test_an_unavailable_hello_is_retried(self) -> None:
        self.start_worker({"echo": lambda task: None})
        first = await self.stream()
        await first.next("hello")
        first.fail(grpc.StatusCode.UNAVAILABLE, "draining")
        second = await self.stream()
        await second.welcome(1.0)
        self.assertEqual((await second.next("credit")).credit.credits, 1)

    def test_queue_names_follow_the_servers_rule(self) -> None:
        for bad in ("my queue", "", "a" * 129, "q/1", "é"):
            with self.assertRaises(OptionsError) as caught:
                Worker(WorkerOptions(target=self.target, queues=["ok", bad], handlers={"echo": lambda task: None}))
            self.assertEqual(caught.exception.field, "queues[1]")
        with self.assertRaises(OptionsError) as caught:
            Worker(WorkerOptions(target=self.target, queues=["my queue"], handlers={"echo": lambda task: None}))
        self.assertEqual(str(caught.exception), "queues[0]: \"my queue\" must be 1-128 characters of letters, digits and . _ : -")
        Worker(WorkerOptions(target=self.target, queues=["A.b_c:d-9", "b" * 128], handlers={"echo": lambda task: None}))
