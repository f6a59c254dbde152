"""Worker options and their defaults."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Union

import grpc

from .context import TaskContext
from .errors import OptionsError
from .hooks import Hooks
from .queue_name import queue_name_problem
from .tls import env_credentials, env_token

#: A handler: ``async def handler(task: TaskContext) -> result`` (or a plain function, run
#: in a thread). The result is any JSON-compatible value, or ``bytes`` (sent as opaque
#: bytes). Raising fails the attempt; raise NonRetryableError to dead-letter the task.
Handler = Callable[[TaskContext], Union[Awaitable[Any], Any]]

#: SDK name announced in the hello.
SDK_NAME = "taskqueue-python/0.1.0"


@dataclass
class WorkerOptions:
    """Configures a :class:`~taskqueue_client.worker.Worker`. ``target``, ``queues`` and
    ``handlers`` are required; times are in seconds."""

    #: Server address, "host:port".
    target: str
    #: Queues to take tasks from, at least one; each name 1-128 characters of letters,
    #: digits and ``. _ : -`` (the server's rule: ``Worker(...)`` refuses other names).
    queues: Sequence[str]
    #: Handlers by task type; their names are announced as the task types served.
    handlers: Mapping[str, Handler]
    #: Most tasks run at once, 1-10000: the hello's capacity, which bounds what the server
    #: leases to the stream and the credits granted. The server refuses a hello above its
    #: MAX_WORKER_CAPACITY (default 1000) with INVALID_ARGUMENT.
    concurrency: int = 10
    #: Stable identity, 1-128 characters. Default "hostname/pid/random".
    worker_id: str = ""
    #: Labels announced in the hello.
    labels: Mapping[str, str] = field(default_factory=dict)
    #: TLS credentials (see :func:`~taskqueue_client.tls.tls_credentials`). Default: from the
    #: environment (``TQ_TLS_CA``, ``TQ_TLS_CERT``, ``TQ_TLS_KEY``), else plaintext.
    credentials: Optional[grpc.ChannelCredentials] = None
    #: API token (a worker token covering ``queues``) sent as ``authorization: Bearer``.
    #: Default the environment's ``TQ_TOKEN``, else none.
    token: Optional[str] = None
    #: Logger. Default the "taskqueue_client.worker" logger.
    logger: Optional[logging.Logger] = None
    #: Callbacks observing sessions, tasks and acks.
    hooks: Hooks = field(default_factory=Hooks)
    #: Reconnect back-off bounds (exponential with jitter).
    reconnect_initial_delay: float = 0.1
    reconnect_max_delay: float = 5.0
    #: A stream not welcomed this long after its hello is dropped.
    welcome_timeout: float = 10.0
    #: Heartbeat interval when the welcome states none.
    heartbeat_interval: float = 10.0
    #: A server silent for this many heartbeat intervals counts as deaf: the stream and its
    #: channel are dropped and dialled afresh.
    silent_intervals: int = 3
    #: Bound of a graceful stop: running tasks finish and their results are acknowledged,
    #: then what is left is dropped.
    shutdown_timeout: float = 30.0
    #: Least time between two progress reports of a task.
    progress_interval: float = 0.25

    def compiled(self) -> "WorkerOptions":
        """A validated copy with the defaults filled in (OptionsError names a bad option)."""
        if not self.target:
            raise OptionsError("target", "is required (host:port)")
        if isinstance(self.queues, str) or not self.queues:
            raise OptionsError("queues", "must name at least one queue")
        for i, queue in enumerate(self.queues):
            problem = queue_name_problem(queue)
            if problem is not None:
                raise OptionsError(f"queues[{i}]", problem)
        queues = list(dict.fromkeys(self.queues))
        if not self.handlers:
            raise OptionsError("handlers", "must name at least one task type")
        for name, handler in self.handlers.items():
            if not callable(handler):
                raise OptionsError(f"handlers[{name!r}]", "must be callable")
        if not isinstance(self.concurrency, int) or not 1 <= self.concurrency <= 10_000:
            raise OptionsError("concurrency", "must be an integer between 1 and 10000")
        worker_id = self.worker_id or default_worker_id()
        if len(worker_id) > 128:
            raise OptionsError("worker_id", "must be 1-128 characters")
        for name in ("reconnect_initial_delay", "reconnect_max_delay", "welcome_timeout", "heartbeat_interval", "shutdown_timeout"):
            if getattr(self, name) <= 0:
                raise OptionsError(name, "must be a positive number of seconds")
        if self.silent_intervals < 1:
            raise OptionsError("silent_intervals", "must be at least 1")
        return replace(
            self,
            queues=queues,
            handlers=dict(self.handlers),
            worker_id=worker_id,
            labels=dict(self.labels),
            logger=self.logger or logging.getLogger("taskqueue_client.worker"),
            credentials=self.credentials or env_credentials(),
            token=self.token if self.token is not None else env_token(),
        )


def default_worker_id() -> str:
    """``hostname/pid/random``, at most 128 characters."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"[-128:]
