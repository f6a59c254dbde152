"""Callbacks through which a worker reports what happens (for logs, metrics, tests)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .context import TaskContext


@dataclass(frozen=True)
class SessionInfo:
    """A welcomed session and its timings (seconds)."""

    session_id: str
    server_id: str
    lease_duration: float
    heartbeat_interval: float


@dataclass(frozen=True)
class TaskOutcome:
    """How an attempt ended on the worker: ``kind`` is "succeeded", "failed", "cancelled",
    "timed_out" or "lost" (the stream went first: no result is sent, the server requeues)."""

    kind: str
    error: Optional[BaseException]
    duration: float


@dataclass(frozen=True)
class Ack:
    """The server's verdict on a result: ``status`` is "accepted", "stale" or "rejected"."""

    task_id: str
    lease_token: str
    status: str
    message: str


@dataclass
class Hooks:
    """Optional callbacks, called on the worker's event loop: keep them quick."""

    #: A session was welcomed.
    on_connected: Optional[Callable[[SessionInfo], None]] = None
    #: A session ended: (reason, error or None). Reasons: ended, failed, deaf, drained, stopped.
    on_disconnected: Optional[Callable[[str, Optional[BaseException]], None]] = None
    #: A leased task's handler is about to run.
    on_task_started: Optional[Callable[["TaskContext"], None]] = None
    #: A task's outcome is decided (its result is about to be sent), or it was lost.
    on_task_finished: Optional[Callable[["TaskContext", TaskOutcome], None]] = None
    #: The server answered a result.
    on_ack: Optional[Callable[[Ack], None]] = None
    #: The server announced it is shutting down: (deadline or None, reason).
    on_drain: Optional[Callable[[Optional[_dt.datetime], str], None]] = None
