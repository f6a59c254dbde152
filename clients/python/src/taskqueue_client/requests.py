"""Builders of the worker's stream messages (ConnectRequest)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .gen.taskqueue.v1 import worker_service_pb2 as pb

if TYPE_CHECKING:
    from .context import TaskContext
    from .options import WorkerOptions


def hello(options: "WorkerOptions") -> pb.ConnectRequest:
    """The first message: who the worker is and what it serves."""
    from .options import SDK_NAME

    return pb.ConnectRequest(
        hello=pb.WorkerHello(
            worker_id=options.worker_id,
            queues=list(options.queues),
            task_types=sorted(options.handlers),
            capacity=options.concurrency,
            labels=dict(options.labels),
            sdk=SDK_NAME,
        )
    )


def credit(n: int) -> pb.ConnectRequest:
    """Grants ``n`` more free slots."""
    return pb.ConnectRequest(credit=pb.CreditGrant(credits=n))


def heartbeat(task_ids: Sequence[str]) -> pb.ConnectRequest:
    """A heartbeat listing the running tasks."""
    return pb.ConnectRequest(heartbeat=pb.Heartbeat(task_ids=list(task_ids)))


def results(items: Sequence[pb.TaskResult]) -> pb.ConnectRequest:
    """A batch of results."""
    return pb.ConnectRequest(results=pb.TaskResults(results=list(items)))


def progress(ctx: "TaskContext", percent: float, message: str) -> pb.ConnectRequest:
    """A progress report of one running task."""
    return pb.ConnectRequest(
        progress=pb.ProgressReport(task_id=ctx.id, lease_token=ctx.lease_token, percent=percent, message=message)
    )


def draining(reason: str) -> pb.ConnectRequest:
    """Announces that the worker is shutting down."""
    return pb.ConnectRequest(draining=pb.WorkerDraining(reason=reason))
