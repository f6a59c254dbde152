"""The worker: one WorkerService.Connect stream at a time, reconnecting with back-off."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Optional

import grpc

from .backoff import Backoff
from .errors import OptionsError, TaskQueueError
from .hello_refusal import hello_refusal
from .options import WorkerOptions
from .session import Session, SessionEnd


class Worker:
    """Serves tasks: grants credits for its free slots, runs the leased tasks with their
    handlers and reports their results, over one stream at a time.

    ``await worker.run()`` serves until ``worker.stop()`` is called (graceful: the server is
    told, no more work is taken, running tasks finish and their results are acknowledged
    within ``shutdown_timeout``, then what is left is dropped). Cancelling the task running
    ``run()`` stops at once, dropping what runs. Options are validated here
    (:class:`~taskqueue_client.errors.OptionsError`).

    When the server refuses the hello with INVALID_ARGUMENT or FAILED_PRECONDITION (e.g.
    ``hello.capacity: must be between 1 and 1000, got 2000``), on the first stream or on a
    later reconnect, the same hello cannot succeed: ``run()`` stops retrying and raises that
    error (:class:`~taskqueue_client.errors.InvalidArgumentError` or
    :class:`~taskqueue_client.errors.FailedPreconditionError`), once handlers still running
    from an earlier stream have returned (bounded by ``shutdown_timeout``).
    """

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options.compiled()
        self.logger: logging.Logger = self.options.logger  # type: ignore[assignment]
        #: Threads running plain (non-async) handlers.
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.options.concurrency, thread_name_prefix="taskqueue-handler"
        )
        self._busy = 0
        self._session: Optional[Session] = None
        self._stopping = False
        self._stop_deadline = 0.0
        self._wake: Optional[asyncio.Event] = None
        self._idle: Optional[asyncio.Event] = None
        self._running = False

    @property
    def worker_id(self) -> str:
        """Identity announced in the hello."""
        return self.options.worker_id

    @property
    def busy(self) -> int:
        """Handlers running now (across sessions: a handler that outlives its stream keeps
        its slot until it returns)."""
        return self._busy

    def acquire(self) -> None:
        """A handler started."""
        self._busy += 1
        if self._idle is not None:
            self._idle.clear()

    def release(self) -> None:
        """A handler settled: its slot is free."""
        self._busy -= 1
        if self._busy == 0 and self._idle is not None:
            self._idle.set()
        if self._session is not None:
            self._session.schedule_flush()

    async def run(self) -> None:
        """Serves until stopped; connection failures are retried with back-off forever, but
        a refused hello (INVALID_ARGUMENT or FAILED_PRECONDITION) is raised."""
        if self._running:
            raise OptionsError("run", "the worker is already running")
        self._running = True
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        if self._busy == 0:
            self._idle.set()
        backoff = Backoff(self.options.reconnect_initial_delay, self.options.reconnect_max_delay)
        channel = self._channel()
        refused: Optional[TaskQueueError] = None
        try:
            while not self._stopping:
                self._session = Session(self)
                if self._stopping:
                    break
                end = await self._session.run(channel)
                self._session = None
                self._report(end)
                refused = None if self._stopping else hello_refusal(end)
                if refused is not None:
                    self.logger.error("server refused the hello, worker stopped: %s", refused)
                    self._stopping = True
                    self._stop_deadline = loop.time() + self.options.shutdown_timeout
                    break
                if end.welcomed:
                    backoff.reset()
                if self._stopping:
                    break
                if end.reason == "deaf":
                    # The connection may be dead without the transport knowing: dial afresh.
                    await channel.close()
                    channel = self._channel()
                delay = backoff.next()
                self.logger.info("reconnecting in %.3fs", delay)
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except asyncio.TimeoutError:
                    pass
            if self._busy > 0:
                remaining = max(0.0, self._stop_deadline - loop.time())
                try:
                    await asyncio.wait_for(self._idle.wait(), remaining)
                except asyncio.TimeoutError:
                    self.logger.warning("%d handler(s) still running after the graceful stop", self._busy)
            if refused is not None:
                raise refused
        finally:
            self._session = None
            self._running = False
            await channel.close()
            self.executor.shutdown(wait=False, cancel_futures=True)

    def stop(self, timeout: Optional[float] = None) -> None:
        """Begins a graceful stop bounded by ``timeout`` seconds (default the
        ``shutdown_timeout`` option); ``run()`` returns once it is done."""
        if self._stopping:
            return
        loop = asyncio.get_running_loop()
        self._stopping = True
        self._stop_deadline = loop.time() + (self.options.shutdown_timeout if timeout is None else timeout)
        self.logger.info("worker stopping")
        if self._wake is not None:
            self._wake.set()
        if self._session is not None:
            self._session.stop(self._stop_deadline)

    def _channel(self) -> grpc.aio.Channel:
        options = [
            ("grpc.initial_reconnect_backoff_ms", int(self.options.reconnect_initial_delay * 1000)),
            ("grpc.max_reconnect_backoff_ms", int(self.options.reconnect_max_delay * 1000)),
        ]
        if self.options.credentials is not None:
            return grpc.aio.secure_channel(self.options.target, self.options.credentials, options=options)
        return grpc.aio.insecure_channel(self.options.target, options=options)

    def _report(self, end: SessionEnd) -> None:
        level = logging.INFO if end.reason in ("stopped", "drained", "ended") else logging.WARNING
        self.logger.log(level, "worker session ended: %s (%s), %d task(s) lost", end.reason, end.error, end.lost_tasks)
        hook = self.options.hooks.on_disconnected
        if hook:
            hook(end.reason, end.error)
