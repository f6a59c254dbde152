"""Tasks as the server reports them, as plain dataclasses."""

from __future__ import annotations

import base64
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import timestamp_pb2

from .gen.taskqueue.v1 import task_pb2
from .payload import from_value


class TaskState:
    """Task state names (``Task.state`` holds one of these strings)."""

    SCHEDULED = "SCHEDULED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    DEAD = "DEAD"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"

    #: States a task never leaves.
    TERMINAL = frozenset({SUCCEEDED, DEAD, CANCELLED, EXPIRED})


def state_name(value: int) -> str:
    """Short name of a TaskState enum value, e.g. 2 -> "QUEUED"."""
    try:
        return task_pb2.TaskState.Name(value).removeprefix("TASK_STATE_")
    except ValueError:
        return f"UNKNOWN_{value}"


def state_value(name: str) -> int:
    """Enum value of a state name, short ("QUEUED") or full ("TASK_STATE_QUEUED")."""
    upper = name.strip().upper()
    if not upper.startswith("TASK_STATE_"):
        upper = "TASK_STATE_" + upper
    return task_pb2.TaskState.Value(upper)


@dataclass(frozen=True)
class TaskError:
    """Why an attempt failed."""

    message: str
    type: str = ""
    non_retryable: bool = False
    attempt: int = 0


@dataclass(frozen=True)
class Task:
    """A task and its observable state. ``payload``/``result`` hold decoded JSON; the
    ``*_bytes`` fields hold opaque bytes when the producer or worker sent bytes."""

    id: str
    queue: str
    type: str
    state: str
    attempt: int = 0
    max_attempts: int = 0
    priority: int = 0
    payload: Any = None
    payload_bytes: bytes | None = None
    result: Any = None
    result_bytes: bytes | None = None
    last_error: TaskError | None = None
    idempotency_key: str = ""
    concurrency_key: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    worker_id: str = ""
    cancel_reason: str = ""
    created_at: _dt.datetime | None = None
    scheduled_at: _dt.datetime | None = None
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None

    @property
    def is_terminal(self) -> bool:
        """True once the task can never change again."""
        return self.state in TaskState.TERMINAL

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: unset fields left out, times as ISO 8601, bytes as base64."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None or value == "" or value == {}:
                continue
            if isinstance(value, _dt.datetime):
                value = value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            elif isinstance(value, bytes):
                value = base64.b64encode(value).decode()
            elif isinstance(value, TaskError):
                value = {k: v for k, v in value.__dict__.items() if v not in ("", False, 0)}
            out[name] = value
        return out


@dataclass(frozen=True)
class Attempt:
    """One dispatch of a task to a worker."""

    attempt: int
    worker_id: str
    started_at: _dt.datetime | None
    finished_at: _dt.datetime | None
    #: "SUCCEEDED", "FAILED", "LEASE_EXPIRED", "WORKER_LOST", "CANCELLED"; "" while running.
    outcome: str
    error: TaskError | None


def time_of(ts: timestamp_pb2.Timestamp, present: bool) -> _dt.datetime | None:
    """A timestamp as an aware UTC datetime, or None when unset."""
    if not present:
        return None
    return ts.ToDatetime(tzinfo=_dt.timezone.utc)


def task_error_of(message: task_pb2.Task, name: str) -> TaskError | None:
    """The TaskError in field ``name`` of ``message``, or None when unset."""
    if not message.HasField(name):
        return None
    e = getattr(message, name)
    return TaskError(message=e.message, type=e.type, non_retryable=e.non_retryable, attempt=e.attempt)


def task_from_proto(p: task_pb2.Task) -> Task:
    """Converts a Task message."""
    payload_kind = p.WhichOneof("payload_data")
    result_kind = p.WhichOneof("result_data")
    return Task(
        id=p.id,
        queue=p.queue,
        type=p.type,
        state=state_name(p.state),
        attempt=p.attempt,
        max_attempts=p.max_attempts,
        priority=p.priority,
        payload=from_value(p.payload) if payload_kind == "payload" else None,
        payload_bytes=p.payload_bytes if payload_kind == "payload_bytes" else None,
        result=from_value(p.result) if result_kind == "result" else None,
        result_bytes=p.result_bytes if result_kind == "result_bytes" else None,
        last_error=task_error_of(p, "last_error"),
        idempotency_key=p.idempotency_key,
        concurrency_key=p.concurrency_key,
        labels=dict(p.labels),
        worker_id=p.worker_id,
        cancel_reason=p.cancel_reason,
        created_at=time_of(p.created_at, p.HasField("created_at")),
        scheduled_at=time_of(p.scheduled_at, p.HasField("scheduled_at")),
        started_at=time_of(p.started_at, p.HasField("started_at")),
        finished_at=time_of(p.finished_at, p.HasField("finished_at")),
    )


def attempt_from_proto(p: task_pb2.TaskAttempt) -> Attempt:
    """Converts a TaskAttempt message."""
    outcome = "" if p.outcome == 0 else task_pb2.AttemptOutcome.Name(p.outcome).removeprefix("ATTEMPT_OUTCOME_")
    error = None
    if p.HasField("error"):
        error = TaskError(message=p.error.message, type=p.error.type, non_retryable=p.error.non_retryable, attempt=p.error.attempt)
    return Attempt(
        attempt=p.attempt,
        worker_id=p.worker_id,
        started_at=time_of(p.started_at, p.HasField("started_at")),
        finished_at=time_of(p.finished_at, p.HasField("finished_at")),
        outcome=outcome,
        error=error,
    )
