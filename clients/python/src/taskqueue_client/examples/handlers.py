"""The example task types: echo, sleep and fail."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from taskqueue_client import Handler, NonRetryableError, TaskContext

#: Prints one event line: (event name, fields).
EventSink = Callable[[str, dict[str, Any]], None]


async def echo(task: TaskContext) -> Any:
    """Returns the payload unchanged (JSON or bytes)."""
    return task.payload_bytes if task.payload_bytes is not None else task.payload


def make_sleep(events: EventSink) -> Handler:
    """``sleep``: waits ``payload.ms`` milliseconds, or until the task is stopped
    (cancelled, timed out, lease lost), and returns ``{"slept": ms}``."""

    async def sleep(task: TaskContext) -> Any:
        ms = task.payload.get("ms") if isinstance(task.payload, dict) else None
        if not isinstance(ms, (int, float)) or isinstance(ms, bool) or ms < 0:
            raise NonRetryableError("payload.ms must be a non-negative number", type="InvalidPayload")
        try:
            await asyncio.sleep(ms / 1000)
        except asyncio.CancelledError:
            reason = task.stop_reason
            events("handler_aborted", {"task_id": task.id, "type": task.type, "attempt": task.attempt, "cause": str(reason)})
            raise
        return {"slept": ms}

    return sleep


async def fail(task: TaskContext) -> Any:
    """``fail``: fails attempts 1..``payload.times`` (for good when ``payload.retryable``
    is false) and returns ``{"attempt": n}`` afterwards."""
    payload = task.payload if isinstance(task.payload, dict) else {}
    times = payload.get("times")
    if not isinstance(times, int) or isinstance(times, bool) or times < 0:
        raise NonRetryableError("payload.times must be a non-negative integer", type="InvalidPayload")
    if task.attempt <= times:
        message = f"failing attempt {task.attempt} of {times} on purpose"
        if payload.get("retryable") is False:
            raise NonRetryableError(message, type="PlannedFailure")
        raise RuntimeError(message)
    return {"attempt": task.attempt}


def handlers(events: EventSink) -> dict[str, Handler]:
    """The example handlers by task type."""
    return {"echo": echo, "sleep": make_sleep(events), "fail": fail}
