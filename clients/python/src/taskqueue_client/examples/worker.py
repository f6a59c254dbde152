"""The example Python worker: serves echo, sleep and fail, printing one JSON line per event
on stdout and logs on stderr.

    python3 -m taskqueue_client.examples.worker --server localhost:50051 --queues default

SIGINT or SIGTERM stops it gracefully (running tasks finish first). The OTEL_* variables turn
tracing on (``OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318``): each attempt is then a span
in the trace its task was submitted with.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import logging
import os
import signal
import sys
from typing import Any, Optional

from taskqueue_client import Hooks, TaskContext, TaskOutcome, Worker, WorkerOptions
from taskqueue_client.examples.handlers import handlers
from taskqueue_client.examples.otel_setup import start_tracing


def print_event(event: str, fields: dict[str, Any]) -> None:
    """Writes one JSON line: {"event": ..., **fields (by name), "time": ...}."""
    line = {"event": event, **dict(sorted(fields.items())), "time": _dt.datetime.now(_dt.timezone.utc).isoformat()}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def event_hooks() -> Hooks:
    """Hooks printing the worker's events."""

    def finished(task: TaskContext, outcome: TaskOutcome) -> None:
        fields: dict[str, Any] = {
            "task_id": task.id,
            "type": task.type,
            "attempt": task.attempt,
            "outcome": outcome.kind,
            "duration_ms": round(outcome.duration * 1000),
        }
        if outcome.error is not None:
            fields["error"] = str(outcome.error)
        print_event("finished", fields)

    def disconnected(reason: str, error: Optional[BaseException]) -> None:
        print_event("disconnected", {"reason": reason, **({"error": str(error)} if error else {})})

    return Hooks(
        on_connected=lambda s: print_event(
            "connected",
            {"session_id": s.session_id, "server_id": s.server_id, "heartbeat_interval_ms": round(s.heartbeat_interval * 1000)},
        ),
        on_disconnected=disconnected,
        on_task_started=lambda t: print_event("started", {"task_id": t.id, "type": t.type, "attempt": t.attempt}),
        on_task_finished=finished,
        on_ack=lambda a: print_event("ack", {"task_id": a.task_id, "status": a.status}),
        on_drain=lambda deadline, reason: print_event("drain", {"reason": reason, "deadline": deadline.isoformat() if deadline else None}),
    )


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command-line flags (environment variables as defaults)."""
    parser = argparse.ArgumentParser(prog="python3 -m taskqueue_client.examples.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=os.environ.get("TQ_SERVER", "localhost:50051"), help="host:port (env TQ_SERVER)")
    parser.add_argument("--queues", default=os.environ.get("TQ_QUEUES", "default"), help="comma-separated queues (env TQ_QUEUES)")
    parser.add_argument("--concurrency", type=int, default=10, help="most tasks run at once")
    parser.add_argument("--worker-id", default="", help="worker identity (default hostname/pid/random)")
    parser.add_argument("--shutdown-timeout", type=float, default=30.0, help="graceful stop bound, seconds")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    return parser.parse_args(argv)


async def main(argv: Optional[list[str]] = None) -> None:
    """Runs the worker until SIGINT or SIGTERM."""
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # OTEL_* variables turn tracing on: each attempt is then a span in its producer's trace.
    stop_tracing = start_tracing("taskqueue-example-worker")
    worker = Worker(
        WorkerOptions(
            target=args.server,
            queues=[q.strip() for q in args.queues.split(",") if q.strip()],
            handlers=handlers(print_event),
            concurrency=args.concurrency,
            worker_id=args.worker_id,
            shutdown_timeout=args.shutdown_timeout,
            hooks=event_hooks(),
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    logging.getLogger("taskqueue_client.examples").info(
        "example worker starting: server %s, queues %s, worker id %s", args.server, args.queues, worker.worker_id
    )
    try:
        await worker.run()
    finally:
        stop_tracing()
    logging.getLogger("taskqueue_client.examples").info("example worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
