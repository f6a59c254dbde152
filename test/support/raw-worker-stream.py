"""A WorkerService.Connect stream driven by hand from Python (grpcio), for tests of what
the server sends and how it ends the stream. It sends hello and optionally one credit grant,
never answers a task, and prints one JSON line per server message and one for the stream's
end ({"event": "end", "code": "<grpc status name>", "details": "..."}). It needs
clients/python/src on PYTHONPATH (the generated modules)."""

from __future__ import annotations

import argparse
import json
import queue
from typing import Any, Iterator

import grpc

from taskqueue_client.gen.taskqueue.v1 import worker_service_pb2 as pb
from taskqueue_client.gen.taskqueue.v1 import worker_service_pb2_grpc as rpc


def emit(event: str, **fields: Any) -> None:
    """Prints one JSON line."""
    print(json.dumps({"event": event, **fields}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--credits", type=int, default=0)
    args = parser.parse_args()

    outbox: "queue.Queue[pb.ConnectRequest | None]" = queue.Queue()
    outbox.put(pb.ConnectRequest(hello=pb.WorkerHello(worker_id="raw-python", queues=[args.queue], capacity=10)))
    if args.credits > 0:
        outbox.put(pb.ConnectRequest(credit=pb.CreditGrant(credits=args.credits)))

    def requests() -> Iterator[pb.ConnectRequest]:
        while True:
            item = outbox.get()
            if item is None:
                return
            yield item

    with grpc.insecure_channel(args.server) as channel:
        call = rpc.WorkerServiceStub(channel).Connect(requests())
        try:
            for message in call:
                kind = message.WhichOneof("message")
                if kind == "welcome":
                    emit(
                        "welcome",
                        has_lease_duration=message.welcome.HasField("lease_duration"),
                        has_heartbeat_interval=message.welcome.HasField("heartbeat_interval"),
                        lease_duration_ms=message.welcome.lease_duration.ToMilliseconds(),
                        heartbeat_interval_ms=message.welcome.heartbeat_interval.ToMilliseconds(),
                    )
                elif kind == "assignment":
                    emit("assignment", task_ids=[t.task_id for t in message.assignment.tasks])
                elif kind == "drain":
                    emit("drain", reason=message.drain.reason)
                else:
                    emit(kind or "unknown")
            emit("end", code=call.code().name, details=call.details() or "")
        except grpc.RpcError as error:
            emit("end", code=error.code().name, details=error.details() or "")
        finally:
            outbox.put(None)


if __name__ == "__main__":
    main()
