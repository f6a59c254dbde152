"""What a handler sees of the task it runs: :class:`TaskContext`."""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
import time
from collections.abc import Callable
from typing import Any, Optional

from .errors import TaskStopped
from .gen.taskqueue.v1 import worker_service_pb2
from .payload import from_value


class TaskContext:
    """One leased attempt of a task, as its handler sees it.

    ``payload`` is the decoded JSON input (``payload_bytes`` holds opaque input). When the
    worker must stop the attempt — the server cancelled it, its timeout elapsed, or the
    lease was lost — ``stopped`` becomes true and ``stop_reason`` says why (a
    :class:`~taskqueue_client.errors.TaskStopped`); an ``async`` handler is also cancelled
    (``asyncio.CancelledError`` at its next ``await``). A plain (thread) handler should
    check ``stopped`` now and then. Whatever a stopped handler returns is ignored.
    """

    def __init__(
        self,
        leased: worker_service_pb2.LeasedTask,
        loop: asyncio.AbstractEventLoop,
        progress_interval: float,
        send_progress: Callable[[float, str], None],
    ) -> None:
        kind = leased.WhichOneof("payload_data")
        self.id: str = leased.task_id
        self.queue: str = leased.queue
        self.type: str = leased.type
        self.attempt: int = leased.attempt
        self.max_attempts: int = leased.max_attempts
        #: Fences this attempt's result; the worker sends it back for you.
        self.lease_token: str = leased.lease_token
        self.payload: Any = from_value(leased.payload) if kind == "payload" else None
        self.payload_bytes: Optional[bytes] = leased.payload_bytes if kind == "payload_bytes" else None
        self.labels: dict[str, str] = dict(leased.labels)
        self.created_at: Optional[_dt.datetime] = (
            leased.created_at.ToDatetime(tzinfo=_dt.timezone.utc) if leased.HasField("created_at") else None
        )
        #: Execution timeout of this attempt in seconds, or None.
        self.timeout: Optional[float] = (
            leased.timeout.ToNanoseconds() / 1e9 if leased.HasField("timeout") and leased.timeout.ToNanoseconds() > 0 else None
        )
        self._loop = loop
        self._stop_flag = threading.Event()
        self._stop_event = asyncio.Event()
        self._stop_reason: Optional[TaskStopped] = None
        self._progress_interval = progress_interval
        self._send_progress = send_progress
        self._last_progress = 0.0
        self._progress_lock = threading.Lock()

    @property
    def stopped(self) -> bool:
        """True once the worker asked the handler to stop."""
        return self._stop_flag.is_set()

    @property
    def stop_reason(self) -> Optional[TaskStopped]:
        """Why the handler must stop (TaskCancelledError, TaskTimeoutError, ...), or None."""
        return self._stop_reason

    async def wait_stopped(self) -> TaskStopped:
        """Waits until the worker asks the handler to stop; returns the reason."""
        await self._stop_event.wait()
        assert self._stop_reason is not None
        return self._stop_reason

    def progress(self, percent: float, message: str = "") -> None:
        """Reports progress (0-100) with a status line; reports closer together than the
        worker's progress interval are dropped, except 100%. Safe from any thread."""
        with self._progress_lock:
            now = time.monotonic()
            if percent < 100 and self._last_progress and now - self._last_progress < self._progress_interval:
                return
            self._last_progress = now
        self._loop.call_soon_threadsafe(self._send_progress, float(percent), message)

    def _stop(self, reason: TaskStopped) -> None:
        """Asks the handler to stop (event loop only)."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self._stop_flag.set()
        self._stop_event.set()
