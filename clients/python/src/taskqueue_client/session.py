"""One WorkerService.Connect stream's life (see docs/worker-protocol.md)."""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import grpc

from . import requests
from .credits import credits_to_grant
from .errors import ConnectionLostError, ProtocolError, WorkerStoppingError, error_from_rpc
from .gen.taskqueue.v1 import worker_service_pb2, worker_service_pb2_grpc
from .hooks import Ack, SessionInfo
from .result_batches import DEFAULT_MAX_REQUEST_BYTES, result_batches
from .running import RunningTask
from .tls import bearer_metadata

if TYPE_CHECKING:
    from .worker import Worker

#: How long to wait for the server to end the stream after the worker half-closed it.
CLOSE_GRACE = 2.0
#: Bound of a server drain that states no deadline.
DEFAULT_DRAIN_BOUND = 30.0

_ACK_STATUS = {
    worker_service_pb2.RESULT_STATUS_ACCEPTED: "accepted",
    worker_service_pb2.RESULT_STATUS_STALE: "stale",
    worker_service_pb2.RESULT_STATUS_REJECTED: "rejected",
}

_CLOSE = object()


@dataclass(frozen=True)
class SessionEnd:
    """How a session ended: reason is ended, failed, deaf, drained or stopped."""

    reason: str
    error: Optional[BaseException]
    welcomed: bool
    lost_tasks: int


class Session:
    """Hello, welcome, credits, assignments, heartbeats, results and acks, until the stream
    ends, fails, goes deaf, drains or the worker stops. Runs on one event loop; tasks still
    held when the stream goes lose their lease (handlers stopped, results discarded)."""

    def __init__(self, worker: "Worker") -> None:
        self._w = worker
        self._o = worker.options
        self._log = worker.logger
        self._loop = asyncio.get_running_loop()
        self._outbox: asyncio.Queue[Any] = asyncio.Queue()
        self._held: dict[str, RunningTask] = {}
        #: Sent results awaiting their ack, by (task id, lease token): True for a success.
        self._unacked: dict[tuple[str, str], bool] = {}
        self._pending: list[worker_service_pb2.TaskResult] = []
        self._credit = 0
        #: Largest request the server accepts (from the welcome): result batches stay within it.
        self._max_request = DEFAULT_MAX_REQUEST_BYTES
        self._mode = "connecting"
        self._welcomed = False
        self._closing = False
        self._flush_scheduled = False
        self._ended: asyncio.Future[tuple[str, Optional[BaseException]]] = self._loop.create_future()
        self._timers: list[asyncio.TimerHandle] = []
        self._interval = self._o.heartbeat_interval
        self._last_heard = time.monotonic()
        # The server's clock minus ours (seconds), as the last heartbeat ack showed it: the
        # server states deadlines on its own clock.
        self._clock_offset = 0.0

    @property
    def credit(self) -> int:
        """Credits granted on this stream and not yet consumed."""
        return self._credit

    async def run(self, channel: grpc.aio.Channel) -> SessionEnd:
        """Opens the stream on ``channel`` and serves it until it ends; never raises
        (except asyncio.CancelledError)."""
        call = worker_service_pb2_grpc.WorkerServiceStub(channel).Connect(metadata=bearer_metadata(self._o.token))
        self.push(requests.hello(self._o))
        writer = asyncio.ensure_future(self._write(call))
        reader = asyncio.ensure_future(self._read(call))
        self._after(self._o.welcome_timeout, self._welcome_overdue)
        try:
            reason, error = await self._ended
        finally:
            for timer in self._timers:
                timer.cancel()
            call.cancel()
            for task in (writer, reader):
                task.cancel()
            await asyncio.gather(writer, reader, return_exceptions=True)
            if not self._ended.done():
                self._ended.set_result(("stopped", None))
            lost = self._clean_up(self._ended.result()[0])
        return SessionEnd(reason=reason, error=error, welcomed=self._welcomed, lost_tasks=lost)

    def push(self, message: Any) -> None:
        """Queues a request for the writer."""
        self._outbox.put_nowait(message)

    def stop(self, deadline: float) -> None:
        """Graceful stop: announce draining, take no more work, finish what is held while
        heartbeating, and drop what is left at ``deadline`` (loop time)."""
        if self._ended.done():
            return
        if not self._welcomed:
            self._terminate("stopped")
            return
        if self._mode == "stopping":
            return
        self._mode = "stopping"
        self.push(requests.draining("worker stopping"))
        self._after(max(0.0, deadline - self._loop.time()), lambda: self._terminate("stopped", WorkerStoppingError("worker stopping")))
        self.schedule_flush()

    def schedule_flush(self) -> None:
        """Sends pending results and tops up credit soon (coalesced)."""
        if self._flush_scheduled or self._ended.done():
            return
        self._flush_scheduled = True
        self._loop.call_soon(self._flush)

    # -- stream I/O ------------------------------------------------------------------

    async def _write(self, call: grpc.aio.StreamStreamCall) -> None:
        try:
            while True:
                message = await self._outbox.get()
                if message is _CLOSE:
                    await call.done_writing()
                    return
                await call.write(message)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError) as error:
            self._log.debug("stream write failed: %s", error)

    async def _read(self, call: grpc.aio.StreamStreamCall) -> None:
        try:
            async for response in call:
                self._last_heard = time.monotonic()
                self._handle(response)
            self._stream_ended(None)
        except grpc.aio.AioRpcError as error:
            self._stream_ended(error)

    def _stream_ended(self, error: Optional[grpc.aio.AioRpcError]) -> None:
        if error is not None:
            self._terminate("failed", error_from_rpc("Connect", error))
        elif self._mode == "draining":
            self._terminate("drained")
        elif self._mode == "stopping":
            self._terminate("stopped")
        else:
            self._terminate("ended")

    # -- server messages -------------------------------------------------------------

    def _handle(self, response: worker_service_pb2.ConnectResponse) -> None:
        kind = response.WhichOneof("message")
        if not self._welcomed and kind != "welcome":
            self._terminate("failed", ProtocolError(f"expected welcome first, got {kind}"))
            return
        if kind == "welcome":
            self._on_welcome(response.welcome)
        elif kind == "assignment":
            self._on_assignment(response.assignment.tasks)
        elif kind == "acks":
            self._on_acks(response.acks.acks)
        elif kind == "cancel":
            running = self._held.get(response.cancel.task_id)
            token = response.cancel.lease_token
            if running is not None and (not token or token == running.ctx.lease_token):
                self._log.debug("task %s cancelled by the server: %s", running.ctx.id, response.cancel.reason)
                running.cancel(response.cancel.reason)
        elif kind == "drain":
            self._on_drain(response.drain)
        elif kind == "heartbeat_ack" and response.heartbeat_ack.HasField("server_time"):
            self._clock_offset = response.heartbeat_ack.server_time.ToNanoseconds() / 1e9 - time.time()
        self.schedule_flush()

    def _on_welcome(self, welcome: worker_service_pb2.Welcome) -> None:
        if self._welcomed:
            self._log.warning("second welcome ignored")
            return
        self._welcomed = True
        self._mode = "active"
        if welcome.max_receive_message_bytes > 0:
            self._max_request = welcome.max_receive_message_bytes
        interval = welcome.heartbeat_interval.ToNanoseconds() / 1e9 if welcome.HasField("heartbeat_interval") else 0
        self._interval = interval if interval > 0 else self._o.heartbeat_interval
        info = SessionInfo(
            session_id=welcome.session_id,
            server_id=welcome.server_id,
            lease_duration=welcome.lease_duration.ToNanoseconds() / 1e9,
            heartbeat_interval=self._interval,
        )
        self._log.info("worker session open: session %s on server %s, heartbeat every %.3fs", info.session_id, info.server_id, self._interval)
        self._after(self._interval, self._beat)
        self._after(self._interval, self._watch)
        if self._o.hooks.on_connected:
            self._o.hooks.on_connected(info)

    def _on_assignment(self, tasks: Any) -> None:
        if len(tasks) > self._credit:
            self._log.error("protocol violation: %d tasks assigned with %d credits", len(tasks), self._credit)
        self._credit = max(0, self._credit - len(tasks))
        for leased in tasks:
            running = RunningTask(self._w, self, leased)
            if self._closing:
                # The stream is half-closed: no result could be sent; let the lease lapse.
                running.drop(ConnectionLostError("stream closing"))
                continue
            self._held[running.ctx.id] = running
            running.start()

    def _on_acks(self, acks: Any) -> None:
        for a in acks:
            was_success = self._unacked.pop((a.task_id, a.lease_token), None)
            status = _ACK_STATUS.get(a.status)
            if status == "rejected" and was_success:
                # The lease still stands: report the attempt failed rather than leave it running.
                failure = worker_service_pb2.TaskFailure(
                    message=f"result rejected by the server: {a.message}", type="ResultRejected", non_retryable=True
                )
                self._pending.append(worker_service_pb2.TaskResult(task_id=a.task_id, lease_token=a.lease_token, failure=failure))
            if status is None:
                self._log.error("ack with unknown status %s for task %s", a.status, a.task_id)
                continue
            if status != "accepted":
                self._log.warning("result for task %s not accepted (%s): %s", a.task_id, status, a.message)
            if self._o.hooks.on_ack:
                self._o.hooks.on_ack(Ack(task_id=a.task_id, lease_token=a.lease_token, status=status, message=a.message))

    def _on_drain(self, drain: worker_service_pb2.DrainCommand) -> None:
        deadline = drain.deadline.ToDatetime(tzinfo=_dt.timezone.utc) if drain.HasField("deadline") else None
        bound = DEFAULT_DRAIN_BOUND
        if drain.HasField("deadline"):
            # The deadline is on the server's clock: read it on ours.
            bound = max(0.0, drain.deadline.ToNanoseconds() / 1e9 - self._clock_offset - time.time())
        self._log.warning("server draining: %s", drain.reason)
        if self._o.hooks.on_drain:
            self._o.hooks.on_drain(deadline, drain.reason)
        if self._mode == "active":
            self._mode = "draining"
        self._after(bound + CLOSE_GRACE, lambda: self._terminate("drained"))

    # -- tasks (called by RunningTask) -----------------------------------------------

    def outcome(self, running: RunningTask, result: worker_service_pb2.TaskResult) -> None:
        """A held task's outcome is decided: its result goes out with the next flush."""
        if self._held.get(running.ctx.id) is running:
            del self._held[running.ctx.id]
        if self._ended.done():
            return
        self._pending.append(result)
        self.schedule_flush()

    def progress(self, running: RunningTask, percent: float, message: str) -> None:
        """Sends a progress report of a held task."""
        if self._held.get(running.ctx.id) is running and not self._ended.done():
            self.push(requests.progress(running.ctx, percent, message))

    # -- timers, flush, end ----------------------------------------------------------

    def _after(self, delay: float, fn: Any) -> None:
        self._timers.append(self._loop.call_later(delay, fn))

    def _welcome_overdue(self) -> None:
        if not self._welcomed:
            self._terminate("deaf", TimeoutError(f"no welcome within {self._o.welcome_timeout}s"))

    def _beat(self) -> None:
        if self._closing or self._ended.done():
            return
        self.push(requests.heartbeat(list(self._held)))
        self._after(self._interval, self._beat)

    def _watch(self) -> None:
        silent = time.monotonic() - self._last_heard
        if silent >= self._interval * self._o.silent_intervals:
            self._terminate("deaf", TimeoutError(f"server silent for {silent:.3f}s"))
            return
        self._after(self._interval, self._watch)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._ended.done():
            return
        if self._pending:
            # In as few messages as the server's size limit allows.
            batches, too_large = result_batches(self._pending, self._max_request)
            for task_id in too_large:
                self._log.error("result of task %s too large to send (limit %d bytes): failing the task instead", task_id, self._max_request)
            for batch in batches:
                for r in batch:
                    self._unacked[(r.task_id, r.lease_token)] = r.HasField("success")
                self.push(requests.results(batch))
            self._pending = []
        self._grant_credit()
        if self._closing or self._mode not in ("draining", "stopping"):
            return
        if self._held or self._unacked:
            return
        self._closing = True
        self.push(_CLOSE)
        reason = "drained" if self._mode == "draining" else "stopped"
        self._after(CLOSE_GRACE, lambda: self._terminate(reason))

    def _grant_credit(self) -> None:
        if self._mode != "active" or self._closing:
            return
        grant = credits_to_grant(self._o.concurrency, self._w.busy, self._credit)
        if grant == 0:
            return
        self._credit += grant
        self.push(requests.credit(grant))

    def _terminate(self, reason: str, error: Optional[BaseException] = None) -> None:
        if not self._ended.done():
            self._ended.set_result((reason, error))

    def _clean_up(self, reason: str) -> int:
        cause = WorkerStoppingError("worker stopping") if reason == "stopped" else ConnectionLostError("connection lost")
        lost = len(self._held)
        for running in list(self._held.values()):
            running.drop(cause)
        self._held.clear()
        self._pending.clear()
        return lost
