"""Typed errors of the taskqueue client.

Calls to the server fail with a subclass of :class:`TaskQueueError` chosen by the gRPC
status code (``NotFoundError`` for ``NOT_FOUND``, ...). Handlers raise
:class:`NonRetryableError` to dead-letter a task at once; the worker uses the other
exceptions as the reason a running task was stopped.
"""

from __future__ import annotations

import grpc


class TaskQueueError(Exception):
    """A failed call to the server, or a refused item of a batch submit."""

    #: gRPC status code of the failure.
    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, *, op: str = "", field: str = "", code: grpc.StatusCode | None = None) -> None:
        super().__init__(f"{op}: {message}" if op else message)
        #: The server's explanation; for bad input it starts with the field.
        self.message = message
        #: The operation, e.g. "SubmitTask".
        self.op = op
        #: The offending field when the server named it (batch items), else "".
        self.field = field
        if code is not None:
            self.code = code


class InvalidArgumentError(TaskQueueError):
    """A request field is missing or malformed (INVALID_ARGUMENT); the message names it."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(TaskQueueError):
    """No task has the given id (NOT_FOUND)."""

    code = grpc.StatusCode.NOT_FOUND


class FailedPreconditionError(TaskQueueError):
    """The operation does not apply to the task's state, e.g. cancelling a finished task."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhaustedError(TaskQueueError):
    """A payload or result is over the server's size limit (RESOURCE_EXHAUSTED)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class UnavailableError(TaskQueueError):
    """The server or one of its stores is unreachable, or the server is draining."""

    code = grpc.StatusCode.UNAVAILABLE


class AlreadyExistsError(TaskQueueError):
    """The entity exists already (ALREADY_EXISTS)."""

    code = grpc.StatusCode.ALREADY_EXISTS


class DeadlineExceededError(TaskQueueError):
    """The call's timeout passed before the server answered (DEADLINE_EXCEEDED)."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class CallCancelledError(TaskQueueError):
    """The call was cancelled (CANCELLED)."""

    code = grpc.StatusCode.CANCELLED


class InternalError(TaskQueueError):
    """An unexpected server error (INTERNAL)."""

    code = grpc.StatusCode.INTERNAL


_BY_CODE: dict[grpc.StatusCode, type[TaskQueueError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        FailedPreconditionError,
        ResourceExhaustedError,
        UnavailableError,
        AlreadyExistsError,
        DeadlineExceededError,
        CallCancelledError,
        InternalError,
    )
}


def error_for_code(code: grpc.StatusCode, message: str, *, op: str = "", field: str = "") -> TaskQueueError:
    """The typed error of a status code (a plain TaskQueueError for the others)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return TaskQueueError(message, op=op, field=field, code=code)
    return cls(message, op=op, field=field)


def error_from_rpc(op: str, error: grpc.RpcError) -> TaskQueueError:
    """Turns a grpc error into the typed error of its status code."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return error_for_code(code, details or str(code), op=op)


def error_for_code_name(name: str, message: str, *, op: str = "", field: str = "") -> TaskQueueError:
    """The typed error of a status code given by name, e.g. "INVALID_ARGUMENT"."""
    code = getattr(grpc.StatusCode, name, grpc.StatusCode.UNKNOWN)
    return error_for_code(code, message, op=op, field=field)


class NonRetryableError(Exception):
    """Raised by a handler when retrying cannot help (bad input, a missing record).

    The attempt is reported with ``non_retryable`` set and the server moves the task to DEAD
    at once. ``type`` is reported as the failure's type.
    """

    def __init__(self, message: str, *, type: str = "NonRetryableError") -> None:  # noqa: A002
        super().__init__(message)
        self.type = type


class OptionsError(ValueError):
    """An invalid option; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class TaskStopped(Exception):
    """Base of the reasons the worker stops a running handler (see ``TaskContext.stop_reason``)."""

    #: Reported as the failure's type when the stop leads to a result.
    type = "TaskStopped"


class TaskCancelledError(TaskStopped):
    """The server cancelled the task (CancelTask); the attempt ends CANCELLED."""

    type = "CancelledError"


class TaskTimeoutError(TaskStopped):
    """The task's execution timeout elapsed; reported as a retryable failure."""

    type = "TimeoutError"


class ConnectionLostError(TaskStopped):
    """The stream dropped: the lease is gone and the result is discarded."""

    type = "ConnectionLostError"


class WorkerStoppingError(TaskStopped):
    """A graceful stop ran out of time while the task was running."""

    type = "WorkerStoppingError"


class ProtocolError(Exception):
    """The server broke the worker protocol (e.g. no welcome first)."""


class UnknownTaskTypeError(Exception):
    """A task arrived whose type has no handler on this worker."""

    type = "UnknownTaskTypeError"
