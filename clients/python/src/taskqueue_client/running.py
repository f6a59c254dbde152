"""One leased attempt on the worker: runs its handler, enforces its timeout, decides its
outcome exactly once (from the handler, the timeout or a cancel), or drops it when the
lease is lost."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import TYPE_CHECKING, Any, Optional

from .context import TaskContext
from .errors import NonRetryableError, TaskCancelledError, TaskStopped, TaskTimeoutError, UnknownTaskTypeError
from .gen.taskqueue.v1 import worker_service_pb2 as pb
from .hooks import TaskOutcome
from .payload import to_value
from .tracing import AttemptSpan

if TYPE_CHECKING:
    from .session import Session
    from .worker import Worker


class RunningTask:
    """A held task. ``decided`` is set once its outcome is known or it was dropped."""

    def __init__(self, worker: "Worker", session: "Session", leased: pb.LeasedTask) -> None:
        self._w = worker
        self._session = session
        self._loop = asyncio.get_running_loop()
        self.ctx = TaskContext(leased, self._loop, worker.options.progress_interval, self._progress)
        self.decided = False
        self._started = 0.0
        self._future: Optional[asyncio.Future[Any]] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._leased = leased
        self._span: Optional[AttemptSpan] = None

    def start(self) -> None:
        """Runs the handler: an async one as a task, a plain one in the worker's threads."""
        hooks = self._w.options.hooks
        self._started = time.monotonic()
        self._w.acquire()
        if hooks.on_task_started:
            hooks.on_task_started(self.ctx)
        # The attempt's span (for a traced task) covers an unknown type's failure too.
        self._span = AttemptSpan.start(self._leased)
        handler = self._w.options.handlers.get(self.ctx.type)
        if handler is None:
            error = UnknownTaskTypeError(f'no handler for task type "{self.ctx.type}"')
            self._decide("failed", _failure(self.ctx, str(error), error.type, False), error)
            self._w.release()
            return
        if self.ctx.timeout is not None:
            self._timer = self._loop.call_later(self.ctx.timeout, self._expire)
        if self._span is None:
            if inspect.iscoroutinefunction(handler):
                self._future = asyncio.ensure_future(handler(self.ctx))
            else:
                self._future = self._loop.run_in_executor(self._w.executor, handler, self.ctx)
        else:
            # The handler runs with the attempt's span active.
            context = self._span.copy_context()
            if inspect.iscoroutinefunction(handler):
                # A task copies the context it is created in (Python 3.10 has no context=).
                self._future = context.run(self._loop.create_task, handler(self.ctx))
            else:
                self._future = self._loop.run_in_executor(self._w.executor, context.run, handler, self.ctx)
        self._future.add_done_callback(self._settled)

    def cancel(self, reason: str) -> None:
        """The server cancelled the attempt: stop the handler and report it cancelled."""
        if self.decided:
            return
        error = TaskCancelledError(f"cancelled: {reason}" if reason else "cancelled")
        self._stop(error)
        self._decide("cancelled", _failure(self.ctx, str(error), error.type, False), error)

    def drop(self, reason: TaskStopped) -> None:
        """The lease is gone: stop the handler and never report a result."""
        if self.decided:
            return
        self.decided = True
        self._cancel_timer()
        self._stop(reason)
        self._finished("lost", reason)

    def _expire(self) -> None:
        self._timer = None
        if self.decided:
            return
        error = TaskTimeoutError(f"task timed out after {self.ctx.timeout}s")
        self._stop(error)
        self._decide("timed_out", _failure(self.ctx, str(error), error.type, False), error)

    def _stop(self, reason: TaskStopped) -> None:
        self.ctx._stop(reason)  # noqa: SLF001 - the worker owns the context
        if self._future is not None and not self._future.done() and isinstance(self._future, asyncio.Task):
            self._future.cancel(msg=str(reason))

    def _settled(self, future: asyncio.Future[Any]) -> None:
        self._w.release()
        if self.decided:
            return
        if future.cancelled():
            error: BaseException = asyncio.CancelledError("handler cancelled")
            self._decide("failed", _failure(self.ctx, str(error) or "cancelled", "CancelledError", False), error)
            return
        error_or_none = future.exception()
        if error_or_none is not None:
            error = error_or_none
            non_retryable = isinstance(error, NonRetryableError)
            kind = error.type if isinstance(error, NonRetryableError) else type(error).__name__
            self._decide("failed", _failure(self.ctx, str(error) or kind, kind, non_retryable), error)
            return
        value = future.result()
        try:
            success = pb.TaskSuccess(result_bytes=bytes(value)) if isinstance(value, (bytes, bytearray)) else pb.TaskSuccess(result=to_value(value))
        except (TypeError, ValueError) as encode_error:
            message = f"result is not JSON-encodable: {encode_error}"
            self._decide("failed", _failure(self.ctx, message, "ResultEncodingError", True), encode_error)
            return
        result = pb.TaskResult(task_id=self.ctx.id, lease_token=self.ctx.lease_token, success=success)
        self._decide("succeeded", result, None)

    def _decide(self, kind: str, result: pb.TaskResult, error: Optional[BaseException]) -> None:
        self.decided = True
        self._cancel_timer()
        self._finished(kind, error, result.HasField("failure") and result.failure.non_retryable)
        self._session.outcome(self, result)

    def _finished(self, kind: str, error: Optional[BaseException], fatal: bool = False) -> None:
        if kind != "succeeded":
            # A traced attempt's line names its trace and span (record attributes trace_id, span_id).
            ids = self._span.ids() if self._span is not None else None
            self._w.logger.debug(
                "task %s (%s, attempt %d) did not succeed (%s): %s%s",
                self.ctx.id,
                self.ctx.type,
                self.ctx.attempt,
                kind,
                error,
                f" [trace {ids[0]} span {ids[1]}]" if ids else "",
                extra={"trace_id": ids[0], "span_id": ids[1]} if ids else None,
            )
        hook = self._w.options.hooks.on_task_finished
        if hook:
            hook(self.ctx, TaskOutcome(kind=kind, error=error, duration=time.monotonic() - self._started))
        if self._span is not None:
            self._span.end(kind, error, fatal)

    def _progress(self, percent: float, message: str) -> None:
        if not self.decided:
            self._session.progress(self, percent, message)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


#: The server keeps this much of a failure's message and type; more is not sent.
_FAILURE_MESSAGE_CHARS = 4096
_FAILURE_TYPE_CHARS = 128


def _failure(ctx: TaskContext, message: str, kind: str, non_retryable: bool) -> pb.TaskResult:
    return pb.TaskResult(
        task_id=ctx.id,
        lease_token=ctx.lease_token,
        failure=pb.TaskFailure(
            message=message[:_FAILURE_MESSAGE_CHARS], type=kind[:_FAILURE_TYPE_CHARS], non_retryable=non_retryable
        ),
    )

