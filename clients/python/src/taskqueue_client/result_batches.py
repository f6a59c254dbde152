"""Result batches that fit in one request of the server's size limit."""

from __future__ import annotations

from collections.abc import Sequence

from .gen.taskqueue.v1 import worker_service_pb2 as pb

#: Largest request the server accepts when its welcome does not say (gRPC's usual default).
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: Most bytes a ConnectRequest adds around its results member: a tag and a length.
_REQUEST_HEADER_BYTES = 6


def result_batches(results: Sequence[pb.TaskResult], max_request_bytes: int) -> tuple[list[list[pb.TaskResult]], list[str]]:
    """Splits ``results`` into batches whose ConnectRequest each takes at most
    ``max_request_bytes`` (the server's ``max_receive_message_bytes``: a larger message fails
    the whole stream), in order. A result too large for any message is replaced by a
    non-retryable failure for its lease (``ResultTooLarge``); the second value lists their
    task ids."""
    room = max_request_bytes - _REQUEST_HEADER_BYTES
    batches: list[list[pb.TaskResult]] = []
    too_large: list[str] = []
    batch: list[pb.TaskResult] = []
    size = 0
    for result in results:
        entry = _entry_size(result)
        if entry > room:
            too_large.append(result.task_id)
            result = too_large_result(result, max_request_bytes)
            entry = _entry_size(result)
        if batch and size + entry > room:
            batches.append(batch)
            batch, size = [], 0
        batch.append(result)
        size += entry
    if batch:
        batches.append(batch)
    return batches, too_large


def too_large_result(result: pb.TaskResult, max_request_bytes: int) -> pb.TaskResult:
    """The failure sent in place of a result too large to send."""
    return pb.TaskResult(
        task_id=result.task_id,
        lease_token=result.lease_token,
        failure=pb.TaskFailure(
            message=f"result too large to send: the server accepts messages of at most {max_request_bytes} bytes",
            type="ResultTooLarge",
            non_retryable=True,
        ),
    )


def _entry_size(result: pb.TaskResult) -> int:
    """Bytes ``result`` takes as an entry of TaskResults.results: tag, length, body."""
    n = result.ByteSize()
    return 1 + _varint_size(n) + n


def _varint_size(n: int) -> int:
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size
