"""The example Python producer: submit, batch-submit, get, list, cancel and wait for tasks,
printing each task as one JSON line.

    python3 -m taskqueue_client.examples.producer submit --type echo --payload '{"hello": "world"}' --wait
    python3 -m taskqueue_client.examples.producer get --id 01a2...
    python3 -m taskqueue_client.examples.producer cancel --id 01a2... --reason "not needed"

The OTEL_* variables turn tracing on (``OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318``):
each command runs in a span ``producer <command>``, and the tasks it submits run in its trace.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from typing import Any, Optional

from taskqueue_client import Client, TaskQueueError, TaskSpec
from taskqueue_client.examples.otel_setup import start_tracing


def emit(obj: Any) -> None:
    """Prints one JSON line."""
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command-line flags: one sub-command each."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=os.environ.get("TQ_SERVER", "localhost:50051"), help="host:port (env TQ_SERVER)")
    common.add_argument("--queue", default="default")
    common.add_argument("--type", default="")
    common.add_argument("--id", default="")
    common.add_argument("--timeout-total", type=float, default=60.0, help="bound of the whole command, seconds")
    parser = argparse.ArgumentParser(prog="python3 -m taskqueue_client.examples.producer")
    commands = parser.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", parents=[common], help="submit one task")
    submit.add_argument("--payload", default=None, help="JSON payload")
    submit.add_argument("--priority", type=int, default=None, help="0-100; default: the queue's default priority, else 0")
    submit.add_argument("--max-attempts", type=int, default=0)
    submit.add_argument("--timeout", type=float, default=0.0, help="per-attempt execution timeout, seconds")
    submit.add_argument("--idempotency-key", default="")
    submit.add_argument("--wait", action="store_true", help="wait until the task reaches a final state")
    batch = commands.add_parser("batch", parents=[common], help="submit many tasks in one call")
    batch.add_argument("--payloads", default="[]", help="JSON array of payloads, one task each")
    get = commands.add_parser("get", parents=[common], help="show one task")
    get.add_argument("--attempts", action="store_true", help="also print the attempt history")
    listing = commands.add_parser("list", parents=[common], help="list tasks, newest first")
    listing.add_argument("--state", default="", help="comma-separated states, e.g. QUEUED,RUNNING")
    listing.add_argument("--limit", type=int, default=20)
    cancel = commands.add_parser("cancel", parents=[common], help="cancel a task")
    cancel.add_argument("--reason", default="")
    commands.add_parser("wait", parents=[common], help="wait for a final state")
    return parser.parse_args(argv)


async def traced(args: argparse.Namespace) -> None:
    """Runs one command inside a span ``producer <command>`` (recorded when tracing is on)."""
    try:
        from opentelemetry import trace
    except ImportError:
        await run(args)
        return
    with trace.get_tracer("taskqueue-example-producer").start_as_current_span(f"producer {args.command}"):
        await run(args)


async def run(args: argparse.Namespace) -> None:
    """Runs one command."""
    async with Client(args.server) as client:
        if args.command == "submit":
            payload = json.loads(args.payload) if args.payload is not None else None
            submitted = await client.submit(
                args.queue,
                args.type,
                payload,
                priority=args.priority,
                max_attempts=args.max_attempts,
                timeout=args.timeout,
                idempotency_key=args.idempotency_key,
            )
            _annotate(submitted.task.id)
            task = await client.wait(submitted.task.id) if args.wait else submitted.task
            emit(task.to_dict())
        elif args.command == "batch":
            specs = [TaskSpec(queue=args.queue, type=args.type, payload=p) for p in json.loads(args.payloads)]
            for item in await client.submit_batch(specs):
                emit(item.task.to_dict() if item.task else {"error": str(item.error)})
        elif args.command == "get":
            if args.attempts:
                task, attempts = await client.get_with_attempts(args.id)
                emit({"task": task.to_dict(), "attempts": [_attempt(a) for a in attempts]})
            else:
                emit((await client.get(args.id)).to_dict())
        elif args.command == "list":
            states = [s for s in args.state.split(",") if s.strip()]
            count = 0
            async for task in client.iterate(queue=args.queue, type=args.type, states=states):
                if count >= args.limit:
                    break
                count += 1
                emit(task.to_dict())
        elif args.command == "cancel":
            emit((await client.cancel(args.id, args.reason)).to_dict())
        elif args.command == "wait":
            emit((await client.wait(args.id)).to_dict())


def _annotate(task_id: str) -> None:
    """Names the submitted task on the command's span."""
    try:
        from opentelemetry import trace
    except ImportError:
        return
    trace.get_current_span().set_attribute("taskqueue.task.id", task_id)


def _attempt(attempt: Any) -> dict[str, Any]:
    out = dataclasses.asdict(attempt)
    for key in ("started_at", "finished_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {k: v for k, v in out.items() if v not in (None, "")}


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point; exit 1 for a server error, 2 for a usage error."""
    args = parse_args(argv)
    try:
        stop_tracing = start_tracing("taskqueue-example-producer")
    except ValueError as error:
        sys.stderr.write(f"producer: {error}\n")
        return 2
    try:
        asyncio.run(asyncio.wait_for(traced(args), args.timeout_total))
    except TaskQueueError as error:
        sys.stderr.write(f"producer: {type(error).__name__}: {error}\n")
        return 1
    except (ValueError, asyncio.TimeoutError) as error:
        sys.stderr.write(f"producer: {error}\n")
        return 2
    finally:
        stop_tracing()
    return 0


if __name__ == "__main__":
    sys.exit(main())
