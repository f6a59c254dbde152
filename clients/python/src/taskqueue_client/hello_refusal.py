"""Telling a refused hello apart from the stream ends the worker retries."""

from __future__ import annotations

from typing import Optional

import grpc

from .errors import TaskQueueError
from .session import SessionEnd

#: Codes with which a server refuses a hello that can never be accepted as it is: a bad
#: queue name, a capacity above the server's MAX_WORKER_CAPACITY, a refused worker id, a
#: rule of the server the SDK does not check.
REFUSAL_CODES = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION})


def hello_refusal(end: SessionEnd) -> Optional[TaskQueueError]:
    """The server's error when ``end`` is a refused hello — the stream failed with
    INVALID_ARGUMENT or FAILED_PRECONDITION before any welcome — else None. Sending the same
    hello again cannot succeed, so the worker stops; every other end (UNAVAILABLE, a
    transport error, a stream the server ended, a silent server) is retried."""
    if end.welcomed or end.reason != "failed":
        return None
    error = end.error
    if isinstance(error, TaskQueueError) and error.code in REFUSAL_CODES:
        return error
    return None
