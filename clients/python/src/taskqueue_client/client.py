"""The producer API (TaskService) for asyncio: submit, batch submit, get, list, cancel, wait."""

from __future__ import annotations

import asyncio
import datetime as _dt
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import duration_pb2, timestamp_pb2

from .errors import OptionsError, TaskQueueError, error_for_code_name, error_from_rpc
from .gen.taskqueue.v1 import task_pb2, task_service_pb2, task_service_pb2_grpc
from .payload import to_value
from .quota_retry import DEFAULT_QUOTA_RETRY_MAX_WAIT, quota_pushback
from .task import Attempt, Task, TaskState, attempt_from_proto, state_value, task_from_proto
from .tracing import outgoing_metadata
from .tls import bearer_metadata, env_credentials, env_token


@dataclass
class TaskSpec:
    """A task to submit. ``queue`` and ``type`` are required; zero values take the server's
    defaults. ``payload`` is any JSON-compatible value; set ``payload_bytes`` instead for
    opaque bytes."""

    queue: str
    type: str
    payload: Any = None
    payload_bytes: bytes | None = None
    #: Priority 0-100, higher first. None: the queue's default priority (UpdateQueue), else 0;
    #: an explicit 0 is sent and kept.
    priority: int | None = None
    max_attempts: int = 0
    initial_backoff: float = 0.0
    max_backoff: float = 0.0
    backoff_multiplier: float = 0.0
    idempotency_key: str = ""
    #: Concurrency key (e.g. a customer id, at most 256 bytes): tasks sharing a key share the
    #: queue's max_concurrency_per_key, and the queue serves its keys round-robin.
    concurrency_key: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    run_at: _dt.datetime | None = None
    #: Per-attempt execution timeout in seconds; 0 means the server default.
    timeout: float = 0.0

    def to_proto(self) -> task_service_pb2.SubmitTaskRequest:
        """The SubmitTaskRequest for this spec (OptionsError for a payload JSON cannot hold)."""
        req = task_service_pb2.SubmitTaskRequest(
            queue=self.queue,
            type=self.type,
            idempotency_key=self.idempotency_key,
            concurrency_key=self.concurrency_key,
            labels=self.labels,
        )
        if self.priority is not None:
            req.priority = self.priority
        if self.payload_bytes is not None:
            req.payload_bytes = self.payload_bytes
        elif self.payload is not None:
            try:
                req.payload.CopyFrom(to_value(self.payload))
            except (TypeError, ValueError) as error:
                raise OptionsError("payload", f"not JSON-encodable: {error}") from error
        if self.max_attempts or self.initial_backoff or self.max_backoff or self.backoff_multiplier:
            policy = task_pb2.RetryPolicy(max_attempts=self.max_attempts, backoff_multiplier=self.backoff_multiplier)
            if self.initial_backoff:
                policy.initial_backoff.CopyFrom(_duration(self.initial_backoff))
            if self.max_backoff:
                policy.max_backoff.CopyFrom(_duration(self.max_backoff))
            req.retry_policy.CopyFrom(policy)
        if self.run_at is not None:
            ts = timestamp_pb2.Timestamp()
            ts.FromDatetime(self.run_at)
            req.run_at.CopyFrom(ts)
        if self.timeout:
            req.timeout.CopyFrom(_duration(self.timeout))
        return req


def _duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


@dataclass(frozen=True)
class Submission:
    """The outcome of a submit: the committed task, and whether its idempotency key
    matched an existing task (returned unchanged)."""

    task: Task
    existing: bool


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch submit: ``task`` or ``error`` (a TaskQueueError naming the field)."""

    task: Task | None
    existing: bool = False
    error: TaskQueueError | None = None


@dataclass(frozen=True)
class Page:
    """One page of tasks, newest first; ``next_page_token`` is "" on the last page."""

    tasks: list[Task]
    next_page_token: str


#: The calls retried after a quota's delay (a refused submit wrote nothing).
_SUBMITS = frozenset({"SubmitTask", "SubmitTasks"})


class Client:
    """Asyncio producer client. Use as ``async with Client("localhost:50051") as client``.

    ``target`` opens a channel owned (and closed) by the client: TLS when ``credentials`` are
    given (see :func:`~taskqueue_client.tls.tls_credentials`) or the environment names a CA or
    client certificate (``TQ_TLS_CA``, ``TQ_TLS_CERT``, ``TQ_TLS_KEY``), plaintext otherwise;
    ``channel`` uses a caller-owned ``grpc.aio`` channel instead. ``token`` (default the
    environment's ``TQ_TOKEN``) is sent as ``authorization: Bearer`` on every call.
    ``rpc_timeout`` (seconds) bounds every call unless the call passes its own
    ``rpc_timeout``. A submit refused for the token's quota (RESOURCE_EXHAUSTED naming a
    delay; nothing was written) is sent again after that delay, for at most
    ``quota_retry_max_wait`` seconds in total (0: never). Failures raise :class:`TaskQueueError` subclasses chosen by the gRPC
    status.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        channel: grpc.aio.Channel | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        token: str | None = None,
        rpc_timeout: float | None = 30.0,
        quota_retry_max_wait: float = DEFAULT_QUOTA_RETRY_MAX_WAIT,
    ) -> None:
        if (target is None) == (channel is None):
            raise OptionsError("target", "give exactly one of target and channel")
        if channel is None:
            assert target is not None
            credentials = credentials or env_credentials()
            channel = grpc.aio.secure_channel(target, credentials) if credentials else grpc.aio.insecure_channel(target)
            self._owned = True
        else:
            self._owned = False
        self._channel = channel
        self._rpc_timeout = rpc_timeout
        self._quota_retry_max_wait = quota_retry_max_wait
        self._metadata = bearer_metadata(token if token is not None else env_token())
        #: The generated stub, for requests this layer does not cover.
        self.stub = task_service_pb2_grpc.TaskServiceStub(channel)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the channel the client opened (not a caller-owned one)."""
        if self._owned:
            await self._channel.close()

    async def _call(self, op: str, method: Any, request: Any, rpc_timeout: float | None) -> Any:
        waited = 0.0
        while True:
            try:
                return await method(
                    request,
                    timeout=rpc_timeout if rpc_timeout is not None else self._rpc_timeout,
                    metadata=self._metadata + (outgoing_metadata() or ()),
                )
            except grpc.aio.AioRpcError as error:
                # A submit refused for the token's quota wrote nothing: wait as told, send again.
                delay = quota_pushback(error) if op in _SUBMITS else None
                if delay is None or waited + delay > self._quota_retry_max_wait:
                    raise error_from_rpc(op, error) from error
                await asyncio.sleep(delay)
                waited += delay

    async def submit(self, queue: str, type: str, payload: Any = None, *, rpc_timeout: float | None = None, **options: Any) -> Submission:  # noqa: A002
        """Submits one task; returns once it is durably committed. ``options`` are the other
        :class:`TaskSpec` fields (``payload_bytes``, ``priority``, ``max_attempts``, ...)."""
        spec = TaskSpec(queue=queue, type=type, payload=payload, **options)
        return await self.submit_spec(spec, rpc_timeout=rpc_timeout)

    async def submit_spec(self, spec: TaskSpec, *, rpc_timeout: float | None = None) -> Submission:
        """Submits the task described by ``spec``."""
        resp = await self._call("SubmitTask", self.stub.SubmitTask, spec.to_proto(), rpc_timeout)
        return Submission(task=task_from_proto(resp.task), existing=resp.existing)

    async def submit_batch(self, specs: Sequence[TaskSpec], *, rpc_timeout: float | None = None) -> list[BatchItem]:
        """Submits up to 1000 tasks in one call; one item per spec, in order. A bad item fails
        alone (its ``error`` is set); the call raises only when the whole request fails."""
        req = task_service_pb2.SubmitTasksRequest(tasks=[s.to_proto() for s in specs])
        resp = await self._call("SubmitTasks", self.stub.SubmitTasks, req, rpc_timeout)
        items = []
        for r in resp.results:
            if r.WhichOneof("outcome") == "error":
                error = error_for_code_name(r.error.code, r.error.message, op="SubmitTasks", field=r.error.field)
                items.append(BatchItem(task=None, error=error))
            else:
                items.append(BatchItem(task=task_from_proto(r.task), existing=r.existing))
        return items

    async def get(self, task_id: str, *, rpc_timeout: float | None = None) -> Task:
        """Returns one task."""
        resp = await self._call("GetTask", self.stub.GetTask, task_service_pb2.GetTaskRequest(id=task_id), rpc_timeout)
        return task_from_proto(resp.task)

    async def get_with_attempts(self, task_id: str, *, rpc_timeout: float | None = None) -> tuple[Task, list[Attempt]]:
        """Returns one task and its attempt history, oldest first."""
        req = task_service_pb2.GetTaskRequest(id=task_id, include_attempts=True)
        resp = await self._call("GetTask", self.stub.GetTask, req, rpc_timeout)
        return task_from_proto(resp.task), [attempt_from_proto(a) for a in resp.attempts]

    async def list(
        self,
        *,
        queue: str = "",
        type: str = "",  # noqa: A002
        states: Iterable[str] = (),
        page_size: int = 0,
        page_token: str = "",
        rpc_timeout: float | None = None,
    ) -> Page:
        """Returns one page of tasks, newest first, filtered by queue, type and states
        (names such as "QUEUED")."""
        req = task_service_pb2.ListTasksRequest(
            queue=queue, type=type, states=[state_value(s) for s in states], page_size=page_size, page_token=page_token
        )
        resp = await self._call("ListTasks", self.stub.ListTasks, req, rpc_timeout)
        return Page(tasks=[task_from_proto(t) for t in resp.tasks], next_page_token=resp.next_page_token)

    async def iterate(self, *, queue: str = "", type: str = "", states: Iterable[str] = (), page_size: int = 0) -> AsyncIterator[Task]:  # noqa: A002
        """Yields every task matching the filters, fetching pages as needed."""
        states = list(states)
        token = ""
        while True:
            page = await self.list(queue=queue, type=type, states=states, page_size=page_size, page_token=token)
            for task in page.tasks:
                yield task
            if not page.next_page_token:
                return
            token = page.next_page_token

    async def cancel(self, task_id: str, reason: str = "", *, rpc_timeout: float | None = None) -> Task:
        """Cancels a task that has not finished. A queued task comes back CANCELLED; a running
        one RUNNING, its worker told to abort. A finished task raises FailedPreconditionError."""
        req = task_service_pb2.CancelTaskRequest(id=task_id, reason=reason)
        resp = await self._call("CancelTask", self.stub.CancelTask, req, rpc_timeout)
        return task_from_proto(resp.task)

    async def wait(
        self,
        task_id: str,
        *,
        until: Iterable[str] = TaskState.TERMINAL,
        poll_interval: float = 0.1,
        timeout: float | None = None,
    ) -> Task:
        """Polls the task until its state is in ``until`` (default: any terminal state) and
        returns it. There is no server push for task states, so this polls GetTask every
        ``poll_interval`` seconds; ``timeout`` (seconds) bounds the whole wait and raises
        ``TimeoutError``."""
        wanted = frozenset(until)

        async def poll() -> Task:
            while True:
                task = await self.get(task_id)
                if task.state in wanted:
                    return task
                await asyncio.sleep(poll_interval)

        return await asyncio.wait_for(poll(), timeout)
