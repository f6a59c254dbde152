"""Waiting out a submit refused for the token's quota (RESOURCE_EXHAUSTED with the server's
``grpc-retry-pushback-ms`` trailer: nothing of the refused submit was written)."""

from __future__ import annotations

from typing import Optional

import grpc

#: How long, in total, a submit waits and retries by default, in seconds.
DEFAULT_QUOTA_RETRY_MAX_WAIT = 30.0

#: The trailer in which the server says how long to wait, in milliseconds.
RETRY_PUSHBACK_KEY = "grpc-retry-pushback-ms"


def quota_pushback(error: grpc.aio.AioRpcError) -> Optional[float]:
    """The wait, in seconds, that a quota refusal asks for; None for any other failure (a
    payload over the queue's limit is RESOURCE_EXHAUSTED too, but names no wait)."""
    if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
        return None
    for key, value in error.trailing_metadata() or ():
        if key == RETRY_PUSHBACK_KEY:
            try:
                ms = int(value)
            except (TypeError, ValueError):
                return None
            return ms / 1000 if ms >= 0 else None
    return None
