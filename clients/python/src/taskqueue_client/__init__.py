"""Python client of the taskqueue server (asyncio, grpc.aio).

- :class:`Client` — the producer API: submit, batch submit, get, list, cancel, wait.
- :class:`Worker` — serves tasks over one WorkerService.Connect stream at a time.

The generated stubs live in :mod:`taskqueue_client.gen.taskqueue.v1`.
"""

from .client import BatchItem, Client, Page, Submission, TaskSpec
from .context import TaskContext
from .errors import (
    AlreadyExistsError,
    CallCancelledError,
    ConnectionLostError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NonRetryableError,
    NotFoundError,
    OptionsError,
    ProtocolError,
    ResourceExhaustedError,
    TaskCancelledError,
    TaskQueueError,
    TaskStopped,
    TaskTimeoutError,
    UnavailableError,
    UnknownTaskTypeError,
    WorkerStoppingError,
)
from .hooks import Ack, Hooks, SessionInfo, TaskOutcome
from .options import Handler, WorkerOptions
from .task import Attempt, Task, TaskError, TaskState
from .tls import tls_credentials
from .worker import Worker

__all__ = [
    "tls_credentials",
    "AlreadyExistsError",
    "Ack",
    "Attempt",
    "BatchItem",
    "CallCancelledError",
    "Client",
    "ConnectionLostError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "Handler",
    "Hooks",
    "InternalError",
    "InvalidArgumentError",
    "NonRetryableError",
    "NotFoundError",
    "OptionsError",
    "Page",
    "ProtocolError",
    "ResourceExhaustedError",
    "SessionInfo",
    "Submission",
    "Task",
    "TaskCancelledError",
    "TaskContext",
    "TaskError",
    "TaskOutcome",
    "TaskQueueError",
    "TaskSpec",
    "TaskState",
    "TaskStopped",
    "TaskTimeoutError",
    "UnavailableError",
    "UnknownTaskTypeError",
    "Worker",
    "WorkerOptions",
    "WorkerStoppingError",
]
